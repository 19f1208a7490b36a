"""Run a command that may execute only the programs listed: the readers' exec wall.

    python -I -S exec_list.py PROGRAM... -- COMMAND...

Run as a script by walls.command, inside bubblewrap, before the reader starts: it asks the
kernel (Landlock, Linux 5.13+) to let this process and everything it starts execute only
the listed files, then becomes COMMAND. Landlock cannot be lifted by the restricted process
or its children, so a reader subverted by a file, or a library that shells out (ctypes'
find_library runs ldconfig, gcc, ld), gets EACCES for a shell, a compiler, or a binary it
wrote into its own folder. With no COMMAND it only checks that the wall can be built
(walls.available's probe). It fails closed: exit 126 if the kernel refuses.

It imports nothing but the standard library (it runs with -I -S, before xunbao's own path
is known), so walls.py keeps the list and passes it here.

What Landlock does not stop: the dynamic loader must be executable (the kernel opens it
for every program), and a process that already runs code of its own can hand the loader a
file to map. Starting programs by name, the way libraries and scripts do, is what fails.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys

# x86_64 and aarch64 share these numbers (the syscall table's common part).
CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446
ACCESS_EXECUTE = 1 << 0  # LANDLOCK_ACCESS_FS_EXECUTE
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
REFUSED = 126  # what a shell answers for a command it cannot execute


class Refused(OSError):
    pass


def _call(libc: ctypes.CDLL, number: int, *arguments: object) -> int:
    result = int(libc.syscall(number, *arguments))
    if result < 0:
        errno = ctypes.get_errno()
        raise Refused(errno, f"landlock syscall {number}: {os.strerror(errno)}")
    return result


def restrict(programs: list[str]) -> None:
    """From now on this process and its children may execute only `programs`."""
    libc = ctypes.CDLL(None, use_errno=True)
    # Only execution is handled: reading and writing stay as bubblewrap made them.
    attributes = struct.pack("<Q", ACCESS_EXECUTE)
    ruleset = _call(libc, CREATE_RULESET, attributes, len(attributes), 0)
    try:
        for program in programs:
            handle = os.open(program, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = struct.pack("<Qi", ACCESS_EXECUTE, handle)  # packed, 12 bytes
                _call(libc, ADD_RULE, ruleset, RULE_PATH_BENEATH, rule, 0)
            finally:
                os.close(handle)
        # Needed to restrict oneself without CAP_SYS_ADMIN; bubblewrap sets it too.
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise Refused(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        _call(libc, RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print("usage: exec_list.py PROGRAM... -- COMMAND...", file=sys.stderr)
        return 2
    split = argv.index("--")
    programs, command = argv[:split], argv[split + 1 :]
    try:
        restrict(programs)
    except OSError as exc:
        print(f"exec_list: {exc}", file=sys.stderr)
        return REFUSED
    if not command:
        return 0
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"exec_list: {command[0]}: {exc}", file=sys.stderr)
    return REFUSED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
