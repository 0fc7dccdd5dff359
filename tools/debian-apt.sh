# Sourced by the scripts that fetch from Debian's mirror without touching this machine's apt
# sources: a private apt configuration in a work directory.
#   debian_suite_for KVER     -> "SUITE KEYRING" of the Debian line that builds that kernel
#   debian_apt_init DIR SUITE KEYRING   sets the array DEBIAN_APT (options for apt-get and
#                                       apt-cache) and runs `apt-get update`
#   debian_fetch_begin CACHE SUITE KEYRING   takes CACHE's lock (held until exit), makes a
#                                       work directory WORK (removed at exit) and runs
#                                       debian_apt_init in it

debian_suite_for() {
    case "$1" in
    *+deb13-*) echo "trixie-backports trixie" ;;
    *+deb14-*) echo "sid trixie" ;;
    # Built here from trixie's linux-source (tests/vm/build-kernel.sh): no Debian binary
    # kernel of that line has sched_ext.
    *+scx-*) echo "trixie trixie" ;;
    *) return 1 ;;
    esac
}

debian_apt_init() {
    local dir=$1 suite=$2 keyring=$3 dist=$2
    [ "$suite" = sid ] && dist=unstable
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-$keyring-automatic.gpg] http://deb.debian.org/debian $dist main" >"$dir/sources.list"
    DEBIAN_APT=(-o Dir::Etc::sourcelist="$dir/sources.list" -o Dir::Etc::sourceparts=/nonexistent
                -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache"
                -o Dir::State::status=/dev/null -o APT::Sandbox::User=root -o Debug::NoLocking=1)
    apt-get "${DEBIAN_APT[@]}" update -qq
}

debian_fetch_begin() {
    mkdir -p "$1"
    exec 9>"$1/.lock"
    flock 9
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
    debian_apt_init "$WORK" "$2" "$3"
}
