# Client side: connections, DataSHIELD calls, the session cache ---------------

mhe_conns <- function(datasources, call = rlang::caller_env()) {
  if (is.null(datasources)) {
    datasources <- DSI::datashield.connections_find()
  }
  ok <- is.list(datasources) && length(datasources) > 0L &&
    all(vapply(datasources, inherits, TRUE, what = "DSConnection"))
  if (!ok) {
    mhe_abort(
      "{.arg datasources} must be a non-empty list of DataSHIELD connections.",
      class = "input", call = call
    )
  }
  sites <- names(datasources)
  if (is.null(sites) || anyDuplicated(sites) ||
      !all(grepl(mhe_name_pattern, sites))) {
    mhe_abort(c(
      "The connections must have distinct names of letters, digits and {.code _.+-}.",
      i = "Site names travel to the servers as plain strings."
    ), class = "input", call = call)
  }
  datasources
}

cli_escape <- function(x) gsub("\\}", "}}", gsub("\\{", "{{", x))

# Raise one error for the errors that DataSHIELD collected from the sites.
mhe_stop_sites <- function(errors, fallback = NULL, call = rlang::caller_env()) {
  if (length(errors) == 0L) {
    msg <- if (is.null(fallback)) "unknown error" else conditionMessage(fallback)
    mhe_abort(c("DataSHIELD call failed.", x = cli_escape(msg)), class = "server", call = call)
  }
  sites <- names(errors)
  msgs <- vapply(seq_along(errors), function(i) {
    m <- paste(as.character(errors[[i]]), collapse = " ")
    if (!startsWith(m, paste0(sites[i], ":"))) m <- paste0(sites[i], ": ", m)
    m
  }, "")
  refused <- grepl("^[^:]+: refused", msgs)
  setup <- grepl("call `ds.mheSetup\\(\\)` first", msgs)
  class <- if (any(refused)) "refused" else if (all(setup)) "setup" else "server"
  # the refusal kinds that rs_call() wrote as "refused: <rule> [<kind>]" at the sites
  tagged <- "^[^:]+: refused: .*\\[([a-z_]+)\\][[:space:]]*$"
  kinds <- unique(sub(tagged, "\\1", msgs[grepl(tagged, msgs)]))
  if (length(kinds)) class <- c(paste0("refused_", kinds), class)
  n <- length(msgs)
  mhe_abort(
    c("{n} site{?s} reported {?an error/errors}.", stats::setNames(cli_escape(msgs), rep("x", n))),
    class = class, sites = sites, site_messages = msgs, call = call
  )
}

mhe_aggregate <- function(conns, expr, call = rlang::caller_env()) {
  expr <- mhe_wire_expr(expr)
  result <- tryCatch(DSI::datashield.aggregate(conns, expr), error = function(e) e)
  errors <- DSI::datashield.errors()
  if (length(errors) || inherits(result, "error")) {
    mhe_stop_sites(errors, result, call = call)
  }
  result
}

mhe_assign <- function(conns, symbol, expr, call = rlang::caller_env()) {
  expr <- mhe_wire_expr(expr)
  result <- tryCatch(DSI::datashield.assign.expr(conns, symbol, expr), error = function(e) e)
  errors <- DSI::datashield.errors()
  if (length(errors) || inherits(result, "error")) {
    mhe_stop_sites(errors, result, call = call)
  }
  invisible(NULL)
}

# One call per site, from a function of the site name.
mhe_calls <- function(conns, fn) {
  calls <- lapply(names(conns), fn)
  names(calls) <- names(conns)
  calls
}

# Session cache ---------------------------------------------------------------
#
# The analyst's own record of the sessions set up from this R process, keyed
# by the sites' names. Site state never lives here: only in each site's
# `mhe.party`.

mhe_cache <- new.env(parent = emptyenv())

# The key of a set of connections: each connection's name and identity (its
# scalar slots, and the addresses of its environment slots, such as the
# DSLite server or the Opal session), so that two federations with the same
# site names do not share a record.
mhe_conn_key <- function(conn) {
  slots <- attributes(conn)
  parts <- vapply(names(slots), function(n) {
    value <- slots[[n]]
    if (is.environment(value)) return(rlang::obj_address(value))
    if (is.atomic(value) && length(value) == 1L && n != "class") return(as.character(value))
    ""
  }, "")
  paste(parts[nzchar(parts)], collapse = "|")
}

mhe_session_keys <- function(conns) {
  keys <- vapply(conns, mhe_conn_key, "")
  stats::setNames(paste(names(conns), keys, sep = "|"), names(conns))
}

mhe_session_set <- function(session, conns) {
  session$keys <- mhe_session_keys(conns)
  assign(paste(sort(session$keys), collapse = ","), session, envir = mhe_cache)
  invisible(session)
}

mhe_session_forget <- function(conns) {
  keys <- mhe_session_keys(conns)
  for (key in ls(mhe_cache, all.names = TRUE)) {
    session <- get(key, envir = mhe_cache, inherits = FALSE)
    if (any(keys %in% session$keys)) rm(list = key, envir = mhe_cache)
  }
  invisible(NULL)
}

mhe_session_get <- function(conns, call = rlang::caller_env()) {
  keys <- mhe_session_keys(conns)
  for (key in ls(mhe_cache, all.names = TRUE)) {
    session <- get(key, envir = mhe_cache, inherits = FALSE)
    if (all(keys %in% session$keys)) return(session)
  }
  sites <- names(conns)
  mhe_abort(c(
    "No dsMHE session covers {.val {sites}}.",
    i = "Call {.fn ds.mheSetup} first."
  ), class = "setup", call = call)
}
