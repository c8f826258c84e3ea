# byte_compile.sh: the package ships no .pyc; the venv is byte-compiled on the host.
byte_compile() {
    # A module that fails to compile only costs speed; it must not fail the install.
    @VENV@/bin/python -I -m compileall -q @VENV@/lib >/dev/null ||
        warn "warning: some modules in @VENV@ were not byte-compiled"
}
