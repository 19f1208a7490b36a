"""xunbao: collect dekad report forms from a mailbox, keep a ledger, publish a circular."""

import encodings.aliases

# Mail labelled gb2312 routinely holds GBK-only characters (喆 堃 镕); GB18030 is a superset
# that decodes both. This must run before any codec lookup of these names in the process,
# which is why it lives in the package's __init__: every entry point imports it first.
for _name in ("gb2312", "gbk", "eucgb2312_cn", "euc_cn", "x_euc_cn", "csgb2312", "cp936"):
    encodings.aliases.aliases[_name] = "gb18030"

__version__ = "0.1.0"
