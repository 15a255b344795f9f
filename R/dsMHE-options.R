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
#' - `mhe.analyst.key` (default `analyst.key` in
#'   `tools::R_user_dir("dsMHE", "config")`): the analyst's long-term key
#'   file for differential-privacy budgets ([ds.mheAnalystKey()]), created on
#'   first use; [ds.mheSetup()] proves it to every site.
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
#'   verification keys of the sites this site trusts. When set, the roster
#'   must be exactly these sites plus this one (every pin present, nothing
#'   else), and every query must be contributed by the whole roster.
#' - `mhe.allow.unpinned` (default `FALSE`): without `mhe.peers`, a site
#'   refuses to join any roster unless its admin sets this to `TRUE`. An
#'   unpinned federation cannot rule out that the analyst stands in for every
#'   other site (and so learns the group secret and this site's aggregates);
#'   [ds.mheSetup()] warns about it. Never declare it in `inst/DATASHIELD`.
#' - `mhe.min.threshold` (default unset): the least `t` this site accepts for a
#'   t-of-N session ([ds.mheSetup()]'s `threshold`). Unset, no threshold is
#'   accepted: every roster member must decrypt.
#' - `mhe.audit.file` (default
#'   `file.path(tools::R_user_dir("dsMHE", "data"), "audit.log")`): the
#'   site's append-only audit file (mode 0600, its directory 0700). One line
#'   per contribution and per decryption share, written before the blob
#'   leaves the site, with time, site, session, query, kind, variables, sets
#'   of sites, decrypting sites and the call text; kept across setups and
#'   closes. It is also the site's durable ledger: a variable this site
#'   released (contributed, in any statistic) over one set of sites is never
#'   released over another set, in any later session. Read it with
#'   [mheAuditRead()]. Several sites may share one file: each reads only its
#'   own lines (keyed by its long-term key's fingerprint, or its name).
#' - `mhe.key.file` (default unset): path of this site's long-term signing key
#'   (made with [mheKeyCreate()]). When set, the site signs every session's
#'   identity with it, so its fingerprint is the same in every session and
#'   peers can pin it once. When unset, each session has a fresh signing key
#'   and a pinned fingerprint holds for that session only.
#' - Differential privacy (issue 14; design and proofs in `rust/mhe/DP.md`).
#'   Every option may be given as text, as a server profile does (`"1"`,
#'   `"1e-6"`):
#'   - `mhe.dp.epsilon` (default unset): each analyst's total privacy budget
#'     at this site, as epsilon (converted to zero-concentrated DP, rho, at
#'     `mhe.dp.delta`). Unset, differential privacy is off and every result
#'     is exact and unchanged. Set, every contribution of a mean, variance,
#'     correlation, summary, table or histogram carries this site's discrete
#'     Gaussian noise share, added before encryption and calibrated so that
#'     the honest sites' shares alone give the query's guarantee against an
#'     analyst colluding with up to `threshold - 1` sites (every other site
#'     in an N-of-N session); statistics that do not support DP yet are
#'     refused (class `dsMHE_error_refused_dp_unsupported`). Each contribution
#'     is charged to the analyst's budget in the audit file (`mhe.audit.file`)
#'     before it leaves, restarts included; a query that does not fit what is
#'     left is refused before anything is encrypted
#'     (`dsMHE_error_refused_budget`), in this and every later session. With
#'     DP on, the rules on the exact data (small-cell and small-n zeroing,
#'     the median substitution of concentrated variables) are off for these
#'     statistics: each would void the sensitivity the guarantee rests on, and
#'     the noise replaces them.
#'   - `mhe.dp.delta` (default `1e-6`): the delta of every conversion
#'     between rho and epsilon; choose it below 1 / (number of rows).
#'   - `mhe.dp.query.epsilon` (default `min(mhe.dp.epsilon, 1)`): a query's
#'     epsilon; the analyst may ask for less (`epsilon =`), never more.
#'   - `mhe.dp.bounds` (default unset): clipping bounds per variable, text
#'     such as `"D$age:0:120;D$bmi:10:60"`. Values are clipped to them before
#'     they are summed; the analyst's `bounds =` are intersected with them (the
#'     admin's win). A statistic of a numeric variable with no bounds from
#'     either is refused, naming the variable.
#'   - `mhe.dp.analysts` (default unset): the analysts this site knows by
#'     their long-term key, `name:fingerprint` items separated by commas (the
#'     fingerprint as [ds.mheAnalystKey()] prints it). An analyst who proves a
#'     pinned key at [ds.mheSetup()] has a budget of its own; every other
#'     analyst (no key, an unpinned key, a new key) spends the one budget all
#'     unpinned analysts share (`unpinned`), so a new key or a new login
#'     refills nothing. The honest sites assumed are `K - t + 1` of the `K`
#'     contributing sites for a t-of-N key, 1 in an N-of-N session.
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

# Server options of the site policy, read when a site joins a roster.

# `mhe.min.threshold`: the least t of a t-of-N session; -1 when unset (no
# threshold allowed: every roster member must decrypt).
mhe_min_threshold <- function(site) {
  value <- getOption("mhe.min.threshold")
  if (is.null(value)) {
    return(-1L)
  }
  # an option set from text (a server profile) may arrive as "3"
  if (is.character(value)) value <- suppressWarnings(as.numeric(value))
  ok <- is.numeric(value) && length(value) == 1L && !is.na(value) &&
    value == round(value) && value >= 2 && value <= 10000
  if (!ok) {
    mhe_server_abort(site, "the server option `mhe.min.threshold` must be a whole number of at least 2")
  }
  as.integer(value)
}

# `mhe.allow.unpinned`: whether the admin allows rosters without `mhe.peers`.
mhe_allow_unpinned <- function() {
  value <- getOption("mhe.allow.unpinned")
  # only an explicit TRUE (or "TRUE"/"true" from a text profile) opts out of pins
  isTRUE(value) || (is.character(value) && length(value) == 1L &&
                      value %in% c("TRUE", "true"))
}

# `mhe.audit.file`: the site's audit file (default in the user's data directory).
mhe_audit_file <- function(site = NULL) {
  value <- getOption("mhe.audit.file")
  if (is.null(value)) {
    return(file.path(tools::R_user_dir("dsMHE", "data"), "audit.log"))
  }
  if (!is.character(value) || length(value) != 1L || is.na(value) || !nzchar(value)) {
    mhe_server_abort(site, "the server option `mhe.audit.file` must be a single file path")
  }
  path.expand(value)
}
