"""Build small real ELF files with the host's compilers for the tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

LIB_SOURCE = 'const char *{sym}(void) {{ return "{tag}"; }}\n'
PROG_SOURCE = "int main(void) { return 0; }\n"


def cc(out: Path, source: str, *flags: str, compiler: str = "gcc") -> Path:
    """Compile ``source`` (C) into ``out`` with ``flags``; returns ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    src = out.with_name(out.name + ".c")
    src.write_text(source)
    subprocess.run([compiler, "-o", str(out), str(src), *flags], check=True,
                   capture_output=True, timeout=120)
    src.unlink()
    return out


def shared_lib(out: Path, soname: str, *flags: str, tag: str = "", compiler: str = "gcc") -> Path:
    """A shared library with SONAME ``soname`` exporting ``<stem>_tag()``."""
    sym = soname.split(".", 1)[0].replace("-", "_") + "_tag"
    return cc(out, LIB_SOURCE.format(sym=sym, tag=tag or out.name), "-shared", "-fPIC",
              f"-Wl,-soname,{soname}", *flags, compiler=compiler)


def program(out: Path, libs: list[Path], *flags: str, compiler: str = "gcc") -> Path:
    """An executable with a DT_NEEDED on each library's SONAME (``--no-as-needed``)."""
    link = ["-Wl,--no-as-needed", *(str(lib) for lib in libs)]
    return cc(out, PROG_SOURCE, *link, *flags, compiler=compiler)
