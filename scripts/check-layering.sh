#!/usr/bin/env bash
# Fails when a file under dnsd/ includes a header of a module its row in docs/architecture.md does not
# allow, or uses a third-party library outside the module that owns it.
set -uo pipefail
cd "$(dirname "$0")/.."
declare -A allowed=(
  [base]=""
  [wire]="base"
  [cluster]="base"
  [manifest]="cluster base"
  [kube]="cluster base"
  [zonefile]="wire base"
  [hosts]="wire base"
  [zone]="wire cluster zonefile hosts base"
  [answer]="zone hosts wire base"
  [transfer]="zone wire base"
  [forward]="wire base"
  [admin]="base"
  [server]="base wire cluster manifest kube zonefile hosts zone answer transfer forward admin"
)
# Each library and the modules that may use it.
declare -A library_owner=([yaml-cpp/]="manifest kube" [simdjson]="manifest kube" [ldns/]=zonefile
                          [ares]=forward [curl/]=kube [openssl/]=kube)
bad=0
for dir in dnsd/*/; do
  module=$(basename "$dir")
  if [[ -z ${allowed[$module]+x} ]]; then
    echo "layering: dnsd/$module is not a module of docs/architecture.md" >&2
    bad=1
    continue
  fi
  while IFS=: read -r file line text; do
    used=$(sed -E 's|.*"dnsd/([a-z_]+)/.*|\1|' <<<"$text")
    [[ $used == "$module" ]] && continue
    if [[ " ${allowed[$module]} " != *" $used "* ]]; then
      echo "layering: $file:$line: $module may not include dnsd/$used ($text)" >&2
      bad=1
    fi
  done < <(grep -n '#include "dnsd/' -r "$dir" --include='*.h' --include='*.cc' || true)
  for lib in "${!library_owner[@]}"; do
    owner=${library_owner[$lib]}
    [[ " $owner " == *" $module "* ]] && continue
    hits=$(grep -n "#include <$lib" -r "$dir" --include='*.h' --include='*.cc' || true)
    if [[ -n $hits ]]; then
      echo "layering: $module uses $lib, which belongs to dnsd/$owner:" >&2
      echo "$hits" >&2
      bad=1
    fi
  done
done
if ((bad)); then echo "layering: FAILED" >&2; exit 1; fi
echo "layering: ok"
