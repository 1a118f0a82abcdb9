#!/usr/bin/env bash
# Reference for Debian versions: answers each "A<TAB>B" line on stdin with -1, 0 or 1 as
# `dpkg --compare-versions` orders A and B. dpkg has no batch mode, so this one process
# loops and asks dpkg once or twice per pair.
while IFS=$'\t' read -r a b; do
  if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then
    echo -1
  elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then
    echo 0
  else
    echo 1
  fi
done
