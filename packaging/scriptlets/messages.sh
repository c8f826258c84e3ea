# messages.sh: every message names the package; warnings go to stderr.
say() { echo "orangeqs-juice: $*"; }
warn() { echo "orangeqs-juice: $*" >&2; }
