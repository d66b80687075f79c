#!/bin/sh
# Runs one deployment phase of the cohort agent: `cohort-agent.sh pre|post|firstboot`.
#
# Shared by every profile and identical for every node: the agent asks the
# node API for what is specific to this node. The agent binary is fetched
# from the first member that answers (cohort.members= on the kernel command
# line, remembered in the state directory for later phases), so a dead
# member does not stop an install.
#
# Environment: COHORT_STATE (default /tmp/cohort; the installed system uses
# /etc/cohort), COHORT_CA_BUNDLE (default: the state directory's copy, else
# /etc/cohort/ca-bundle.pem placed by the site initramfs).
set -eu

phase=${1:?usage: cohort-agent.sh pre|post|firstboot}
state=${COHORT_STATE:-/tmp/cohort}
mkdir -p "$state"

cmdline_value() {
    tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n 1
}

# Trust: only the collective's CA bundle, never an unverified download.
ca=${COHORT_CA_BUNDLE:-}
if [ -z "$ca" ]; then
    for candidate in "$state/ca-bundle.pem" /etc/cohort/ca-bundle.pem; do
        if [ -s "$candidate" ]; then ca=$candidate; break; fi
    done
fi
if [ -z "$ca" ] || [ ! -s "$ca" ]; then
    echo "cohort: no CA bundle (looked in $state/ca-bundle.pem and /etc/cohort/ca-bundle.pem)" >&2
    exit 1
fi
[ "$ca" = "$state/ca-bundle.pem" ] || cp "$ca" "$state/ca-bundle.pem"
ca=$state/ca-bundle.pem

members=$(cmdline_value cohort.members)
if [ -z "$members" ] && [ -s "$state/members" ]; then
    members=$(cat "$state/members")
fi
if [ -z "$members" ]; then
    echo "cohort: no cohort.members= on the kernel command line and none in $state/members" >&2
    exit 1
fi
echo "$members" >"$state/members"

fetch() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --retry 2 --connect-timeout 10 --cacert "$ca" -o "$2" "$1"
    else
        wget -q -T 10 --ca-certificate="$ca" -O "$2" "$1"
    fi
}

agent=$state/cohort-agent
if [ ! -x "$agent" ]; then
    for member in $(echo "$members" | tr ',' ' '); do
        if fetch "$member/public/site/agent/cohort-agent" "$agent.part"; then
            chmod 0755 "$agent.part"
            mv "$agent.part" "$agent"
            break
        fi
        echo "cohort: $member did not serve the agent, trying the next member" >&2
    done
fi
if [ ! -x "$agent" ]; then
    echo "cohort: no member served public/site/agent/cohort-agent (tried $members)" >&2
    exit 1
fi
# What each phase asks of the agent: nothing before the installer has a
# target; after the install, configure the target (COHORT_TARGET, set by
# the profile's post script: /mnt/sysimage, /target, ...) and report it
# staged; at first boot, configure the running system and report completed
# (the API key saved in the target at post time is reused).
case "$phase" in
    pre) exit 0 ;;
    post) exec "$agent" deploy --members "$members" --ca-bundle "$ca" --root "${COHORT_TARGET:-/}" ;;
    firstboot) exec "$agent" deploy --members "$members" --ca-bundle "$ca" --root / --complete ;;
    *)
        echo "cohort: unknown phase $phase (pre, post or firstboot)" >&2
        exit 2
        ;;
esac
