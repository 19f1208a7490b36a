"""Run a command confined by the kernel: it may execute only the programs listed, and may
not open a network socket.

    python -I -S confine.py PROGRAM... -- COMMAND...

Run as a script by walls.command, inside bubblewrap, before a reader starts. Two walls,
both inherited by every child and impossible to lift from inside:

- Landlock (Linux 5.13+): only the listed files can be executed. A reader subverted by a
  file, or a library that shells out (ctypes' find_library runs ldconfig, gcc, ld), gets
  EACCES for a shell, a compiler, or a binary it wrote into its own folder.
- seccomp: socket() for AF_INET, AF_INET6 and AF_PACKET fails (EAFNOSUPPORT), and io_uring
  (which can open sockets too) is not there. Bubblewrap's network namespace already has
  nothing to reach; this way LibreOffice, told by a mail to fetch a stylesheet, does not
  even try — no connection attempt at all, and none where only the walls of `unshare`
  stand. Local sockets (AF_UNIX: LibreOffice's own pipe) stay.

With no COMMAND it only checks that the walls can be built (walls.available's probe). It
fails closed: exit 126 if the kernel refuses either. It imports nothing but the standard
library (it runs with -I -S, before xunbao's own path is set), so walls.py keeps the list.

What Landlock does not stop: the dynamic loader must be executable (the kernel opens it for
every program), and a process that already runs code of its own can hand the loader a file
to map. Starting programs by name, the way libraries and scripts do, is what fails.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import sys

# x86_64 and aarch64 share these numbers (the syscall table's common part).
CREATE_RULESET, ADD_RULE, RESTRICT_SELF, IO_URING_SETUP = 444, 445, 446, 425
ACCESS_EXECUTE = 1 << 0  # LANDLOCK_ACCESS_FS_EXECUTE
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
REFUSED = 126  # what a shell answers for a command it cannot execute
# machine: (AUDIT_ARCH_*, socket's syscall number)
ARCHITECTURES = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}
FORBIDDEN_FAMILIES = (2, 10, 17)  # AF_INET, AF_INET6, AF_PACKET
X32_BIT = 0x40000000  # x32 syscalls on x86_64: a second way in, never used by a reader
# classic BPF
LOAD, JUMP_EQUAL, JUMP_GREATER_EQUAL, RETURN = 0x20, 0x15, 0x35, 0x06
ALLOW, ERRNO = 0x7FFF0000, 0x00050000


class Refused(OSError):
    pass


def _call(libc: ctypes.CDLL, number: int, *arguments: object) -> int:
    result = int(libc.syscall(number, *arguments))
    if result < 0:
        code = ctypes.get_errno()
        raise Refused(code, f"syscall {number}: {os.strerror(code)}")
    return result


def restrict_exec(libc: ctypes.CDLL, programs: list[str]) -> None:
    """From now on this process and its children may execute only `programs`."""
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
        _call(libc, RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)


def network_filter(machine: str) -> bytes:
    """The seccomp program: socket(AF_INET/AF_INET6/AF_PACKET) and io_uring_setup fail,
    syscalls of another architecture or ABI fail, everything else is allowed."""
    arch, socket_call = ARCHITECTURES[machine]
    refuse, foreign = ERRNO | errno.EAFNOSUPPORT, ERRNO | errno.ENOSYS
    # (code, jump if true, jump if false, k): jumps name labels resolved below
    program: list[tuple[int, str, str, int]] = [
        (LOAD, "", "", 4),  # seccomp_data.arch
        (JUMP_EQUAL, "", "foreign", arch),
        (LOAD, "", "", 0),  # seccomp_data.nr
        (JUMP_GREATER_EQUAL, "foreign", "", X32_BIT),
        (JUMP_EQUAL, "uring", "", IO_URING_SETUP),
        (JUMP_EQUAL, "", "allow", socket_call),
        (LOAD, "", "", 16),  # seccomp_data.args[0], its low 32 bits: the family
        *[(JUMP_EQUAL, "refuse", "", family) for family in FORBIDDEN_FAMILIES],
    ]
    labels = {"allow": ALLOW, "refuse": refuse, "uring": foreign, "foreign": foreign}
    at = {name: len(program) + i for i, name in enumerate(labels)}
    code = b""
    for index, (operation, when_true, when_false, k) in enumerate(program):
        true = at[when_true] - index - 1 if when_true else 0
        false = at[when_false] - index - 1 if when_false else 0
        code += struct.pack("<HBBI", operation, true, false, k)
    for value in labels.values():
        code += struct.pack("<HBBI", RETURN, 0, 0, value)
    return code


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def forbid_network(libc: ctypes.CDLL) -> None:
    machine = os.uname().machine
    if machine not in ARCHITECTURES:
        raise Refused(errno.ENOSYS, f"no seccomp filter for {machine}")
    code = network_filter(machine)
    buffer = ctypes.create_string_buffer(code, len(code))
    program = _Program(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0:
        raise Refused(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def confine(programs: list[str]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    # Needed to confine oneself without CAP_SYS_ADMIN; bubblewrap sets it too.
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise Refused(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    restrict_exec(libc, programs)
    forbid_network(libc)


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print("usage: confine.py PROGRAM... -- COMMAND...", file=sys.stderr)
        return 2
    split = argv.index("--")
    programs, command = argv[:split], argv[split + 1 :]
    try:
        confine(programs)
    except OSError as exc:
        print(f"confine: {exc}", file=sys.stderr)
        return REFUSED
    if not command:
        return 0
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"confine: {command[0]}: {exc}", file=sys.stderr)
    return REFUSED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
