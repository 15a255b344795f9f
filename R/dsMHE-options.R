#' Options of dsMHE
#'
#' @description
#' ## Analyst (client) options
#'
#' - `mhe.chunk.size` (default `200000`): the longest blob, in base64url
#'   characters, sent inline in one server call. Longer blobs travel in chunks
#'   of at most this size through `mheUploadDS()` into a buffer of the site's
#'   party. Opal is known to accept about 200 KB per call; DSLite refuses a
#'   call longer than 1,000,000 characters (so at most 900000 is used).
#'
#' ## Server options (set by the site's admin)
#'
#' DataSHIELD servers apply the options declared in the package's
#' `inst/DATASHIELD` when a session starts; an admin overrides them in the
#' server's DataSHIELD profile (Opal) or the server configuration (DSLite:
#' `server$option("nfilter.tab", 5)`).
#'
#' - `mhe.min.parties` (default `2`): the fewest distinct sites whose
#'   contributions a site accepts in a pooled aggregate before it produces a
#'   decryption share, and the smallest roster it joins. A site reads it,
#'   and `mhe.peers`, when it joins the roster (in [ds.mheSetup()]); a new
#'   value applies from the next setup. The analyst's own value of this
#'   option (default 2) is the least number of sites a t-of-N statistic
#'   continues with when sites fail.
#' - `mhe.peers` (default unset): fingerprints (hex, comma-separated) of the
#'   verification keys of the sites this site trusts. When set, the site
#'   refuses any other roster. When unset, [ds.mheSetup()] warns that roster
#'   membership rests on trust in the analyst who relays it.
#' - `mhe.key.file` (default unset): path of this site's long-term signing key
#'   (made with [mheKeyCreate()]). When set, the site signs every session's
#'   identity with it, so its fingerprint is the same in every session and
#'   peers can pin it once. When unset, each session has a fresh signing key
#'   and a pinned fingerprint holds for that session only.
#' - Disclosure filters, with dsBase's names, defaults and order (the admin's
#'   `nfilter.*` value first, then `default.nfilter.*` from `inst/DATASHIELD`,
#'   then the built-in default):
#'   - `nfilter.tab` (3): least nonzero count of a table cell, and least number
#'     of valid values for a mean, variance or correlation; in [ds.mheGLM()],
#'     the least count of either class of a binary outcome, model-matrix
#'     column, weight or offset (dsBase's glm rules);
#'   - `nfilter.glm` (0.33): most GLM parameters per observation at a site
#'     (more is a saturated or near-saturated model, refused);
#'   - `nfilter.subset` (3), `nfilter.string` (80),
#'     `nfilter.stringShort` (20), `nfilter.kNN` (3), `nfilter.noise` (0.25):
#'     declared for dsBase parity;
#'   - `nfilter.levels.max` (40): most levels of a variable in a table;
#'   - `nfilter.levels.density` (0.33): most levels per valid value.
#'
#' @name dsMHE-options
#' @aliases dsMHE_options
NULL
