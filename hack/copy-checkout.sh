#!/usr/bin/env bash
# Sourced by hack/sanity.sh, hack/judges.sh and hack/integration.sh (not run on its own).
# copy_checkout_files DEST: what git would ship from the current directory (tracked files,
# and untracked ones it does not ignore) copied into DEST, which must exist.
copy_checkout_files() {
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do
        # tracked files deleted in the work tree are listed too: skip them
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
      done \
    | tar --null --no-recursion -T - -cf - | tar -xf - -C "$1"
}
