<?php
// Reference for Composer (Packagist) versions: PHP's own version_compare, which Composer's
// Comparator uses for every non-branch version. One "A<TAB>B" request per stdin line;
// answers version_compare(A, B).
while (($line = fgets(STDIN)) !== false) {
    $f = explode("\t", rtrim($line, "\n"));
    echo version_compare($f[0], $f[1]), "\n";
    flush();
}
