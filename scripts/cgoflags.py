"""Write a pkg-config file that links cgo programs against the given interpreter.

cpy3 asks pkg-config for "python3", whose stock .pc file stopped linking
libpython in 3.8. This writes a python3.pc with the embedding flags of the
interpreter running this script (a venv resolves to its base installation),
the compat include directory first, and an rpath so the binary finds
libpython without LD_LIBRARY_PATH.

It also writes cgo_cppflags, the same include flags for CGO_CPPFLAGS: the go
command does not key its build cache on pkg-config's output, so without them
a build for another interpreter would reuse objects compiled for the last.
"""

import os
import sys
import sysconfig


def main() -> int:
    out_dir, compat_dir = sys.argv[1], sys.argv[2]
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        print(f"{sys.executable}: this Python was built without a shared libpython; "
              "rollbench embeds CPython and needs one (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared)",
              file=sys.stderr)
        return 1
    version = "%d.%d" % sys.version_info[:2]
    libdir = sysconfig.get_config_var("LIBDIR")
    ldversion = sysconfig.get_config_var("LDVERSION")
    include = sysconfig.get_path("include")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "cgo_cppflags"), "w") as f:
        f.write(f"-I{compat_dir} -I{include}\n")
    with open(os.path.join(out_dir, "python3.pc"), "w") as f:
        f.write(f"""Name: python3
Description: embedding flags for {sys.executable}
Version: {version}
Cflags: -Wno-deprecated-declarations -I{compat_dir} -I{include}
Libs: -L{libdir} -lpython{ldversion} -Wl,-rpath,{libdir}
""")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
