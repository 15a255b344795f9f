# One encrypted query --------------------------------------------------------
#
# 1. every site computes its local aggregate vector, applies its disclosure
#    filters and returns it encrypted and signed (`<fun>(..., query, sites)`);
# 2. the client adds the ciphertexts (`rs_pool()`);
# 3. each site checks the pooled request and returns its decryption share
#    (`mheDecryptDS(query, request)`);
# 4. the client combines the shares into the pooled vector (`rs_combine()`),
#    with the sites' differential-privacy facts as its attribute "dp" (NULL
#    when DP is off at every site; see R/client-dp.R).
# Every ds.mhe* function goes through `mhe_query()`, inside `mhe_run()`.
#
# `run` is the run context `mhe_run()` gives the statistic (the sites that
# contribute and those that no longer decrypt); given connections instead,
# the query is a statistic of its own and runs inside a fresh `mhe_run()`.

mhe_query <- function(run, fun, args = list(), call = rlang::caller_env()) {
  if (!inherits(run, "mhe_run_context")) {
    return(mhe_run(run, function(run, call) mhe_query_once(run, fun, args, call), call = call))
  }
  mhe_query_once(run, fun, args, call)
}

mhe_query_once <- function(run, fun, args, call) {
  conns <- run$conns
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
  decryptors <- setdiff(sites, run$skip)
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
  # the sites' signed DP facts (R/client-dp.R): NULL when DP is off everywhere
  attr(value, "dp") <- mhe_dp_frame(pool$dp, mhe_dp_kind(fun, args))
  mhe_dp_warn_partial(attr(value, "dp"), sites)
  value
}

# A round's name in the DP facts: the server function without "mhe"/"DS".
mhe_dp_kind <- function(fun, args) {
  sub("DS$", "", sub("^mhe", "", fun))
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
# `mhe_run(conns, fn)` runs one statistic, `fn(run, call)`, which may take
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
# Runs do not nest: `fn` receives a run context (`mhe_run_context()`), the
# connections of the contributing sites (`run$conns`) and the sites that no
# longer decrypt (`run$skip`), and passes it to every query and inner
# statistic of its rounds. A restart builds a new context; nothing is kept in
# package-level state.

mhe_run_context <- function(conns, skip = character()) {
  structure(list(conns = conns, skip = skip), class = "mhe_run_context")
}

# The connections of a run context, or the connections given.
mhe_run_conns <- function(run) {
  if (inherits(run, "mhe_run_context")) run$conns else run
}

mhe_run <- function(conns, fn, call = rlang::caller_env()) {
  if (inherits(conns, "mhe_run_context")) {
    mhe_abort("A statistic's rounds must use their run context, not start another run.",
              class = "internal", call = call)
  }
  session <- mhe_session_get(conns, call = call)
  need <- max(session$threshold, mhe_min_parties(), 2L)
  dropped <- character()
  skip <- character()
  repeat {
    failed <- NULL
    stage <- NULL
    result <- tryCatch(fn(mhe_run_context(conns, skip), call), dsMHE_error = function(e) {
      failed <<- mhe_failed_sites(e, conns, session)
      if (is.null(failed)) stop(e)
      stage <<- e$stage
      NULL
    })
    if (is.null(failed)) break
    dropped <- c(dropped, failed)
    if (identical(stage, "decryption")) {
      skip <- union(skip, names(failed))
      remaining <- setdiff(names(conns), skip)
    } else {
      remaining <- setdiff(names(conns), c(names(failed), skip))
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
