# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
# shellcheck shell=bash
#
# scripts/lib/legs.sh: the matrix legs of scripts/test (sourced by it). Each leg gets a
# virtualenv cached in $CACHE/<prefix>-<hash> (the hash covers the pins and the Python that runs
# them, so it is rebuilt only when either changes). Container legs build theirs inside the image
# at the same path as on the host, bind-mounted, so the venv's scripts work in both places.
#
# Needs from scripts/test: REPO, CACHE, WORK, VIRTUAL_ENV (the pinned venv), note, fail.

# leg_hash REQUIREMENTS PYTHON-VERSION-STRING: 12 hex digits.
leg_hash() {
    { cat "$1"; printf '%s\n' "$2"; } | sha256sum | cut -c1-12
}

# leg_wheel REQUIREMENTS PACKAGE: the wheel of the "# PACKAGE==X" line of the requirements file,
# downloaded once into $CACHE/wheels; nothing when there is no such line. The container venvs get
# their pip from it: Debian's python3 has no ensurepip.
leg_wheel() {
    local requirements=$1 package=$2 version wheel
    version=$(sed -n "s/^# $package==\([0-9.]*\)\$/\1/p" "$requirements" | head -n 1)
    [[ -n $version ]] || return 0
    wheel=$CACHE/wheels/$package-$version-py3-none-any.whl
    if [[ ! -f $wheel ]]; then
        mkdir -p "$CACHE/wheels"
        "$VIRTUAL_ENV/bin/pip" download -q --no-deps --only-binary=:all: -d "$CACHE/wheels" "$package==$version" \
            2> >(grep -v "is ignored: it is neither a file nor a directory" >&2) >&2 ||
            fail "cannot download $package $version for the container virtualenvs"
    fi
    printf '%s\n' "$wheel"
}

leg_pip_wheel() {
    local wheel
    wheel=$(leg_wheel "$1" pip)
    [[ -n $wheel ]] || fail "${1#"$REPO"/} has no '# pip==VERSION' line"
    printf '%s\n' "$wheel"
}

# leg_host_venv REQUIREMENTS PREFIX: a venv of the host's python3 with these pins; prints its path.
leg_host_venv() {
    local requirements=$1 prefix=$2 venv
    venv=$CACHE/$prefix-$(leg_hash "$requirements" "$(python3 -c 'import sys; print(sys.version)')")
    if [[ ! -f $venv/.complete ]]; then
        note "virtualenv: creating $venv from ${requirements#"$REPO"/}" >&2
        rm -rf "$venv"
        python3 -m venv "$venv" >&2 || fail "python3 -m venv $venv failed"
        "$venv/bin/pip" -q install -r "$requirements" \
            2> >(grep -v "is ignored: it is neither a file nor a directory" >&2) >&2 ||
            fail "pip install -r ${requirements#"$REPO"/} failed"
        "$venv/bin/pip" -q check >&2 || fail "pip check failed in $venv"
        touch "$venv/.complete"
    fi
    printf '%s\n' "$venv"
}

# The host's CA bundle and proxy settings for pip inside the containers (the bundle replaces the
# image's: ansible-test runs pip with an environment of its own, without PIP_CERT).
leg_pip_env() {
    local -a args=(-v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro -e PIP_CERT=/run/host-ca.crt
        -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
        -e PIP_DISABLE_PIP_VERSION_CHECK=1)
    local var
    for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        [[ -n ${!var:-} ]] && args+=(-e "$var=${!var}")
    done
    printf '%s\0' "${args[@]}"
}

# leg_container_venv IMAGE REQUIREMENTS PREFIX: a venv of the image's python3 with these pins
# (and the image's system site-packages: Debian's python3-netifaces); prints its path.
leg_container_venv() {
    local image=$1 requirements=$2 prefix=$3 version venv wheel
    local -a pipenv
    version=$(docker run --rm "$image" python3 -c 'import sys; print(sys.version)') ||
        fail "cannot run python3 in $image"
    venv=$CACHE/$prefix-$(leg_hash "$requirements" "$version")
    if [[ ! -f $venv/.complete ]]; then
        wheel=$(leg_pip_wheel "$requirements")
        note "virtualenv: creating $venv in $image from ${requirements#"$REPO"/}" >&2
        rm -rf "$venv"
        mkdir -p "$venv"
        mapfile -d '' -t pipenv < <(leg_pip_env)
        docker run --rm --label "$LEG_LABEL" "${pipenv[@]}" -v "$venv:$venv" -v "$CACHE/wheels:/run/wheels:ro" \
            -v "$requirements:/run/requirements.txt:ro" "$image" sh -ec "
                python3 -m venv --without-pip --system-site-packages '$venv'
                # pip takes its paths from sysconfig, not distutils (which Debian 11 ships apart).
                echo 'import sysconfig; sysconfig._PIP_USE_SYSCONFIG = True' \
                    >\"\$('$venv/bin/python' -c 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])')/pip-use-sysconfig.pth\"
                '$venv/bin/python' '/run/wheels/${wheel##*/}/pip' install -q '/run/wheels/${wheel##*/}'
                '$venv/bin/pip' install -q -r /run/requirements.txt
                '$venv/bin/pip' check" >&2 || fail "building $venv in $image failed"
        touch "$venv/.complete"
    fi
    printf '%s\n' "$venv"
}

# The collections the pinned venv's `ansible` package bundles.
leg_bundled() {
    local dir
    dir=$("$VIRTUAL_ENV/bin/python" -c 'import ansible, os
print(os.path.join(os.path.dirname(os.path.dirname(ansible.__file__)), "ansible_collections"))')
    [[ -d $dir ]] || fail "the pinned venv has no bundled collections (the ansible package): $dir"
    printf '%s\n' "$dir"
}

# leg_collections: a collections root holding the test-only collections of tests/requirements.yml,
# linked from the pinned venv's `ansible` package (Galaxy is not reachable from CI). Prints it.
leg_collections() {
    local root=$WORK/test-collections bundled name
    if [[ ! -d $root ]]; then
        bundled=$(leg_bundled)
        for name in $("$VIRTUAL_ENV/bin/python" -c 'import sys, yaml
for c in yaml.safe_load(open(sys.argv[1]))["collections"]: print(c["name"])' "$REPO/tests/requirements.yml"); do
            [[ -d $bundled/${name/.//} ]] || fail "collection $name (tests/requirements.yml) is not in $bundled"
            mkdir -p "$root/ansible_collections/${name%%.*}"
            ln -sfn "$bundled/${name/.//}" "$root/ansible_collections/${name/.//}"
        done
    fi
    printf '%s\n' "$root"
}

# leg_run IMAGE VENV CMD...: CMD as root in a throw-away container of IMAGE with the venv first on PATH,
# the checkout (read-only) and the work directory at their host paths, the test collections on
# PYTHONPATH, and ansible-test's cache ($CACHE/<venv name>-home) as HOME.
leg_run() {
    local image=$1 venv=$2 colls home bundled
    shift 2
    colls=$(leg_collections)
    bundled=$(leg_bundled)
    home=$CACHE/$(basename "$venv")-home
    mkdir -p "$home"
    local -a pipenv
    mapfile -d '' -t pipenv < <(leg_pip_env)
    # The capabilities the unit tests use as root on the host: network namespaces (unshare --net).
    docker run --rm --label "$LEG_LABEL" "${pipenv[@]}" --cap-add SYS_ADMIN --cap-add NET_ADMIN \
        --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        -v "$REPO:$REPO:ro" -v "$WORK:$WORK" -v "$venv:$venv:ro" -v "$bundled:$bundled:ro" -v "$home:/root" \
        -e HOME=/root -e "PATH=$venv/bin:/usr/local/bin:/usr/bin:/bin" -e "VIRTUAL_ENV=$venv" \
        -e "PYTHONPATH=$colls" -e PYTHONDONTWRITEBYTECODE=1 -e ANSIBLE_NOCOLOR=1 -e PY_COLORS=0 \
        -e "HYPOTHESIS_STORAGE_DIRECTORY=/root/.hypothesis" \
        -w "$REPO" "$image" "$@"
}
