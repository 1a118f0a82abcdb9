-- Component lists count images per (name, version, source) without count(DISTINCT) over
-- every component row: first_of_kind marks one row per kind in each image (the lowest idx),
-- and has_fixable says whether that kind has a fixable finding in the image (on the first
-- row: any copy of it). Written by the images store with the rows.

ALTER TABLE image_components
    ADD COLUMN first_of_kind boolean NOT NULL DEFAULT true,
    ADD COLUMN has_fixable   boolean NOT NULL DEFAULT false;

UPDATE image_components ic SET first_of_kind = false
FROM (
    SELECT image_id, idx,
           row_number() OVER (PARTITION BY image_id, name, version, source ORDER BY idx) AS rn
    FROM image_components
) d
WHERE d.image_id = ic.image_id AND d.idx = ic.idx AND d.rn > 1;

UPDATE image_components ic SET has_fixable = true
FROM (
    SELECT DISTINCT c.image_id, c.name, c.version, c.source
    FROM image_cves f JOIN image_components c ON c.image_id = f.image_id AND c.idx = f.component_idx
    WHERE f.fixable
) k
WHERE k.image_id = ic.image_id AND k.name = ic.name AND k.version = ic.version
  AND k.source = ic.source;
