# One encrypted query --------------------------------------------------------
#
# 1. every site computes its local aggregate vector, applies its disclosure
#    filters and returns it encrypted and signed (`<fun>(..., query, sites)`);
# 2. the client adds the ciphertexts (`rs_pool()`);
# 3. each site checks the pooled request and returns its decryption share
#    (`mheDecryptDS(query, request)`);
# 4. the client combines the shares into the pooled vector (`rs_combine()`).
# Every ds.mhe* function goes through `mhe_query()`, inside `mhe_run()`.

mhe_query <- function(conns, fun, args = list(), call = rlang::caller_env()) {
  mhe_run(conns, function(conns, call) mhe_query_once(conns, fun, args, call), call = call)
}

mhe_query_once <- function(conns, fun, args, call) {
  sites <- names(conns)
  query <- rs_call(rs_random_id())
  sites_arg <- paste(sites, collapse = ",")
  progress <- cli::cli_progress_bar(
    format = "dsMHE {fun}: {cli::pb_status}",
    total = 3L, clear = TRUE, .auto_close = TRUE
  )
  cli::cli_progress_update(id = progress, status = "encrypting at the sites", inc = 0)
  contribution <- as.call(c(list(as.name(fun)), args, list(query = query, sites = sites_arg)))
  contributions <- mhe_stage("encryption", mhe_aggregate(conns, contribution, call = call))
  # sites that failed to decrypt earlier in this statistic still contribute (the
  # set of sites stays the same), but no longer decrypt
  decryptors <- setdiff(sites, mhe_state$skip)
  deciding <- conns[decryptors]
  pool <- rs_call(rs_pool(unname(contributions[sites]), decryptors))

  cli::cli_progress_update(id = progress, status = "joint decryption")
  shares <- mhe_stage("decryption", {
    request <- mhe_send_blob(deciding, pool$request)
    decrypt <- mhe_calls(deciding, function(site) call("mheDecryptDS", query, request[[site]]))
    mhe_aggregate(deciding, decrypt, call = call)
  })

  cli::cli_progress_update(id = progress, status = "combining")
  value <- rs_call(rs_combine(pool$pooled, unname(shares[decryptors])))
  cli::cli_progress_done(id = progress)
  value
}

# Tag the errors that sites report during one stage of a query with the stage.
mhe_stage <- function(stage, expr) {
  tryCatch(expr, dsMHE_error = function(e) {
    e$stage <- e$stage %||% stage
    stop(e)
  })
}

# Sites that fail during a t-of-N statistic -----------------------------------
#
# `mhe_run(conns, fn)` runs one statistic, `fn(conns, call)`, which may take
# several encrypted rounds and plain calls (levels, column names). When the
# session was set up with `threshold = t` < N and some sites fail (a server
# error or a lost connection, not a refusal) while others answer, the whole
# statistic starts again, with fresh query ids, with a warning of class
# `dsMHE_warning_dropout` naming the sites left out and why:
#
# - a site that failed at decryption keeps contributing, but no longer
#   decrypts: the set of contributing sites stays the same (the sites' policy:
#   with pinned peers it is always the whole roster, and each site ties every
#   variable to one set of sites forever), and t of them decrypt, as long as
#   at least max(t, `mhe.min.parties` as the client knows it, 2) remain;
# - a site that failed elsewhere (encryption, a plain call) is left out of the
#   contributing sites. The other sites may refuse the smaller set: a variable
#   they already contributed over the whole set is never released over another
#   (a contribution is a release), and pinned sites require the whole roster.
#
# The result carries the contributing sites as its attribute `sites`.
#
# - A fresh query is needed whatever the stage: a contribution is masked for
#   its declared site set, and a site that produced a decryption share never
#   decrypts the same query again (nor may it: two shares of one ciphertext
#   for different decrypting sets leak its key share).
# - The whole statistic restarts, not just the failed round, so that every
#   round covers the same sites (a variance's mean and sum of squares).
# - A refusal stops the statistic with its error: it is a site's policy
#   decision (a disclosure filter, the roster, a replay, a changed set).
#   A failure of every site stops it too (most likely a bad argument rather
#   than an outage).
# - N-of-N sessions stop at any failure, as before: every site must decrypt.
# - This is the analyst's convenience, not a security boundary: each site
#   still checks every query against its own policy.
#
# Runs nest: `mhe_query()` inside a statistic's `mhe_run()` leaves restarts to
# the outermost run. `mhe_state$skip` holds the sites that no longer decrypt
# during the outermost run.

mhe_state <- new.env(parent = emptyenv())
mhe_state$depth <- 0L
mhe_state$skip <- character()

mhe_run <- function(conns, fn, call = rlang::caller_env()) {
  if (mhe_state$depth > 0L) {
    return(fn(conns, call))
  }
  session <- mhe_session_get(conns, call = call)
  mhe_state$depth <- mhe_state$depth + 1L
  mhe_state$skip <- character()
  on.exit({
    mhe_state$depth <- mhe_state$depth - 1L
    mhe_state$skip <- character()
  })
  need <- max(session$threshold, mhe_min_parties(), 2L)
  dropped <- character()
  repeat {
    failed <- NULL
    stage <- NULL
    result <- tryCatch(fn(conns, call), dsMHE_error = function(e) {
      failed <<- mhe_failed_sites(e, conns, session)
      if (is.null(failed)) stop(e)
      stage <<- e$stage
      NULL
    })
    if (is.null(failed)) break
    dropped <- c(dropped, failed)
    if (identical(stage, "decryption")) {
      mhe_state$skip <- union(mhe_state$skip, names(failed))
      remaining <- setdiff(names(conns), mhe_state$skip)
    } else {
      remaining <- setdiff(names(conns), c(names(failed), mhe_state$skip))
      conns <- conns[setdiff(names(conns), names(failed))]
    }
    mhe_dropout_signal(failed, dropped, remaining, need, call)
  }
  if (!is.null(result)) attr(result, "sites") <- names(conns)
  result
}

# The sites that failed (named messages), or NULL when `e` is no dropout: a
# refusal, an N-of-N session, an error of the client, or every site failing.
mhe_failed_sites <- function(e, conns, session) {
  eligible <- session$threshold < length(session$sites) &&
    inherits(e, c("dsMHE_error_server", "dsMHE_error_setup")) &&
    !inherits(e, "dsMHE_error_refused") &&
    length(e$sites) > 0L && all(e$sites %in% names(conns)) &&
    length(e$sites) < length(conns)
  if (!eligible) {
    return(NULL)
  }
  stage <- if (is.null(e$stage)) "" else paste0(" (at ", e$stage, ")")
  stats::setNames(paste0(e$site_messages, stage), e$sites)
}

mhe_dropout_signal <- function(failed, dropped, remaining, need, call) {
  bullets <- stats::setNames(cli_escape(dropped), rep("x", length(dropped)))
  if (length(remaining) < need) {
    missing <- names(dropped)
    mhe_abort(c(
      "Too few sites left to decrypt: {length(remaining)}, {need} needed.",
      bullets,
      i = "{cli::qty(length(missing))}Site{?s} {.val {missing}} failed."
    ), class = "dropout", sites = missing, site_messages = unname(dropped), call = call)
  }
  left_out <- names(failed)
  cli::cli_warn(c(
    "{cli::qty(length(left_out))}Site{?s} {.val {left_out}} failed and {?was/were} left out.",
    stats::setNames(cli_escape(failed), rep("x", length(failed))),
    i = "The query ran again from fresh encryptions over {.val {remaining}}."
  ), class = c("dsMHE_warning_dropout", "dsMHE_warning"),
  sites = left_out, site_messages = unname(failed))
}
