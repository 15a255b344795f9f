#' Set up a dsMHE session over DataSHIELD sites
#'
#' The sites jointly generate a collective public key, each keeping its own
#' secret-key share in its DataSHIELD session (symbol `mhe.party`):
#'
#' 1. each site creates its party (`mheInitDS()`) and publishes its signed
#'    identity (`mheIdentityDS()`);
#' 2. the analyst relays the roster of identities; each site checks it and
#'    returns a signed key-generation share (`mheJoinDS()`);
#' 3. each site receives the bundle of all shares, derives the collective key
#'    and confirms its digest (`mheFinalizeDS()`); the digests must agree.
#'
#' A site joins only the roster its admin pinned (server option `mhe.peers`),
#' or, if its admin opted in with `mhe.allow.unpinned`, any roster the analyst
#' relays; setup then warns. A threshold needs each site's admin to allow it
#' (`mhe.min.threshold`).
#'
#' @section Sites that fail:
#' With `threshold = t` < N, a statistic survives sites that fail to decrypt
#' (a server error or a lost connection): it starts again from fresh
#' encryptions over the same sites, the failed ones still contributing but no
#' longer decrypting, with a warning of class `dsMHE_warning_dropout` naming
#' them and why, as long as at least `max(t, mhe.min.parties, 2)` sites can
#' decrypt (`mhe.min.parties` as set in the analyst's session, default 2; each
#' site still applies its own). With fewer, it stops with an error of class
#' `dsMHE_error_dropout` naming the failed sites. A site that fails elsewhere
#' (at encryption, or in a plain call) is left out of the contributing sites
#' when the others allow it: a site never releases a variable over another set
#' of sites than the first it released it over (a contribution is a release),
#' and sites that pinned their peers require the whole roster; they refuse
#' otherwise (class `dsMHE_error_refused_set_changed` or
#' `dsMHE_error_refused_set_not_whole_roster`). A site's refusal always stops
#' the statistic. Results carry the contributing sites as their attribute
#' `sites`. Without a threshold, every site must take part and any failure
#' stops the statistic.
#'
#' @param datasources A list of DataSHIELD connections; `NULL` (default) finds
#'   them with [DSI::datashield.connections_find()]. The connection names are
#'   the site names.
#' @param params Name of the parameter set (see the Rust crate's docs).
#' @param threshold `NULL` (all sites needed to decrypt) or the number `t` of
#'   sites that together can decrypt.
#' @param progress `TRUE` to show a progress bar over the setup steps (the
#'   key shares and bundles counted per site), `FALSE` for none. By default
#'   on, unless `options(datashield.progress = FALSE)`. The bar is cli's: it
#'   appears once setup has taken longer than `cli.progress_show_after`
#'   (2 s by default).
#' @param analyst_key Path of the analyst's long-term key file, proved to
#'   every site for its differential-privacy budget (see [ds.mheAnalystKey()];
#'   created on first use), or `FALSE` to prove none (sites with DP on then
#'   charge the shared `unpinned` budget).
#' @returns Invisibly, an object of class `mhe_session`: `session` (id),
#'   `sites`, `params`, `threshold`, `fingerprints` (each site's verification
#'   key, named by site), `key` (fingerprint of the collective public key),
#'   `pinned` (per site, whether its admin pinned its peers) and `analysts`
#'   (per site, the identity its DP budget charges: the analyst key's
#'   fingerprint if its admin pinned it, else `"unpinned"`; `NULL` with
#'   `analyst_key = FALSE`).
#' @family client functions
#' @export
#' @examples
#' \dontrun{
#' session <- ds.mheSetup(conns)
#' session
#' }
ds.mheSetup <- function(datasources = NULL, params = "default", threshold = NULL,
                        progress = getOption("datashield.progress", TRUE),
                        analyst_key = mhe_analyst_key_path()) {
  conns <- mhe_conns(datasources)
  sites <- names(conns)
  if (!rlang::is_bool(progress)) {
    mhe_abort("{.arg progress} must be {.code TRUE} or {.code FALSE}.", class = "input")
  }
  if (!is.character(params) || length(params) != 1L || !grepl(mhe_name_pattern, params)) {
    mhe_abort("{.arg params} must be the name of a parameter set.", class = "input")
  }
  if (!is.null(threshold)) {
    ok <- is.numeric(threshold) && length(threshold) == 1L && !is.na(threshold) &&
      threshold == round(threshold) && threshold >= 1 && threshold <= length(sites)
    if (!ok) {
      mhe_abort(
        "{.arg threshold} must be a whole number between 1 and {length(sites)}.",
        class = "input"
      )
    }
  }
  threshold_arg <- if (is.null(threshold)) 0L else as.integer(threshold)
  mhe_session_forget(conns)
  step <- mhe_setup_progress(progress, length(sites))

  session <- rs_call(rs_random_id())
  step("creating the parties at the sites")
  mhe_assign(conns, "mhe.party", mhe_calls(conns, function(site) {
    call("mheInitDS", session, params, site)
  }))
  step("collecting the sites' identities")
  identities <- mhe_aggregate(conns, call("mheIdentityDS"))
  roster <- rs_call(rs_roster_build(unname(identities[sites])))
  # differential privacy: prove the analyst's long-term key (R/client-dp.R)
  analysts <- mhe_analyst_prove(conns, identities, analyst_key)

  step("relaying the roster; the sites make their key shares")
  roster_arg <- mhe_send_blob(conns, roster)
  joined <- mhe_aggregate(conns, mhe_calls(conns, function(site) {
    call("mheJoinDS", roster_arg[[site]], threshold_arg)
  }))
  shares <- lapply(joined[sites], `[[`, "share")
  pinned <- vapply(joined[sites], function(j) isTRUE(j$pinned), TRUE)

  bundles <- lapply(sites, function(site) {
    step(paste("bundling the key shares for", site))
    rs_call(rs_keygen_bundle(unname(shares), site))
  })
  names(bundles) <- sites
  step("the sites derive the collective key")
  bundle_arg <- mhe_send_blobs(conns, bundles)
  confirmations <- mhe_aggregate(conns, mhe_calls(conns, function(site) {
    call("mheFinalizeDS", bundle_arg[[site]])
  }))
  key <- rs_call(rs_confirmations_check(unname(confirmations[sites])))
  step(NULL)

  info <- rs_call(rs_roster_info(roster))
  fingerprints <- stats::setNames(as.character(info$fingerprint), info$site)[sites]
  result <- structure(
    list(
      session = session, sites = sites, params = params,
      threshold = if (is.null(threshold)) length(sites) else as.integer(threshold),
      fingerprints = fingerprints, key = key, pinned = pinned, analysts = analysts
    ),
    class = "mhe_session"
  )
  result <- mhe_session_set(result, conns)
  if (!all(pinned)) {
    unpinned <- sites[!pinned]
    cli::cli_warn(c(
      "{cli::qty(length(unpinned))}Site{?s} {.val {unpinned}} did not pin {?its/their} peers.",
      i = "Roster membership then rests on trust in the analyst who relays it: an unpinned federation cannot rule out that the analyst stands in for the other sites and reads a site's aggregates.",
      i = "Site admins can pin the roster with the server option {.code mhe.peers}."
), class = c("dsMHE_warning_unpinned", "dsMHE_warning"))
  }
  invisible(result)
}

#' @export
print.mhe_session <- function(x, ...) {
  cli::cli_text("{.cls mhe_session} {x$session}")
  cli::cli_bullets(c(
    "*" = "parameters: {.val {x$params}}",
    "*" = "sites: {length(x$sites)} ({x$threshold} needed to decrypt)",
    "*" = "collective key: {.field {x$key}}"
  ))
  for (site in x$sites) {
    pin <- if (isTRUE(x$pinned[[site]])) "pinned" else "not pinned"
    cli::cli_bullets(c(" " = "{.strong {site}}: {x$fingerprints[[site]]} ({pin})"))
  }
  invisible(x)
}

# A cli progress bar over the setup: four steps plus one per site (its key
# bundle). Returns step(status): advance to the next step with that status;
# step(NULL) ends the bar. Without progress, step() does nothing.
mhe_setup_progress <- function(progress, n_sites, .envir = parent.frame()) {
  if (!progress) {
    return(function(status) invisible(NULL))
  }
  bar <- cli::cli_progress_bar(
    name = "dsMHE setup", total = 4L + n_sites, clear = TRUE,
    format = "{cli::pb_name} {cli::pb_bar} {cli::pb_current}/{cli::pb_total} {cli::pb_status}",
    .envir = .envir
  )
  started <- FALSE
  function(status) {
    if (is.null(status)) {
      cli::cli_progress_done(id = bar, .envir = .envir)
    } else {
      cli::cli_progress_update(id = bar, status = status, inc = if (started) 1L else 0L,
                               .envir = .envir)
      started <<- TRUE
    }
    invisible(NULL)
  }
}
