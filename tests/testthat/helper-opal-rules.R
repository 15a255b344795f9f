# Record every call the test suite sends to a DSLite server and check it
# against Opal's rules as it is sent (DSLite itself checks only the outermost
# function name, and accepts characters Opal refuses): a call that breaks
# them fails the test that sent it, whatever order the test files run in.

opal_recorder <- new.env(parent = emptyenv())
opal_recorder$calls <- list()

opal_record <- function(site, type, expr) {
  text <- if (is.language(expr)) paste(deparse(expr, width.cutoff = 500L), collapse = "\n") else expr
  # long calls travel as text (mhe_call_text()): check the call a server parses from it
  if (is.character(expr)) expr <- tryCatch(str2lang(expr), error = function(e) expr)
  record <- list(site = site, type = type, expr = expr, chars = nchar(text, type = "bytes"))
  opal_recorder$calls[[length(opal_recorder$calls) + 1L]] <- record
  problems <- opal_problems(record)
  if (length(problems)) {
    opal_fail(paste0(
      "A call to ", site, " (", type, ") breaks Opal's rules: ",
      paste(problems, collapse = "; "), " in ", substr(paste(deparse(expr), collapse = ""), 1, 80)
    ))
  }
  invisible(record)
}

# Fail the running test. The recorder runs inside DSI and DSLite, whose
# `tryCatch(error = )` would swallow testthat's failure (an error condition),
# so the failure is signalled without the class "error": only testthat's
# handler sees it, and the call goes on. Outside a test it is an error.
opal_fail <- function(message) {
  failure <- testthat::expectation("failure", message)
  class(failure) <- setdiff(class(failure), "error")
  withRestarts(signalCondition(failure), continue_test = function() return(invisible()))
  if (!testthat::is_testing()) stop(message, call. = FALSE)
}

# Replace the `aggregate` and `assignExpr` methods of a DSLiteServer (an R6
# object) by recording wrappers around the originals.
opal_record_server <- function(server, site) {
  force(site) # the caller's loop variable moves on
  wrap <- function(method, type) {
    original <- server[[method]]
    unlockBinding(method, server)
    assign(method, function(sid, ...) {
      args <- list(...)
      opal_record(site, type, args[[length(args)]])
      original(sid, ...)
    }, envir = server)
    lockBinding(method, server)
  }
  wrap("aggregate", "aggregate")
  wrap("assignExpr", "assign")
  invisible(server)
}

# Bytes sent by the calls recorded since `mark` (an index into the record).
opal_bytes_since <- function(mark) {
  calls <- opal_recorder$calls
  if (length(calls) <= mark) return(0)
  sum(vapply(calls[(mark + 1L):length(calls)], `[[`, 0, "chars"))
}

# The methods declared in inst/DATASHIELD, by type.
opal_declared <- function() {
  path <- system.file("DATASHIELD", package = "dsMHE")
  dcf <- read.dcf(path)
  split <- function(field) trimws(strsplit(gsub("[\r\n]", "", dcf[1, field]), ",")[[1]])
  list(aggregate = split("AggregateMethods"), assign = split("AssignMethods"))
}

# Problems of one recorded call under Opal's rules (character(0) if none).
opal_problems <- function(record, declared = opal_declared()) {
  expr <- record$expr
  problems <- character()
  if (!is.call(expr)) {
    return("not a call")
  }
  fun <- expr[[1]]
  if (!is.symbol(fun)) {
    problems <- c(problems, "the function is not a plain name")
  } else if (!as.character(fun) %in% declared[[record$type]]) {
    problems <- c(problems, paste0("`", as.character(fun), "` is not a declared ", record$type, " method"))
  }
  args <- as.list(expr)[-1L]
  if (length(args) >= 1000L) problems <- c(problems, "1000 arguments or more")
  for (arg in args) {
    if (is.null(arg)) next
    if (is.call(arg)) {
      problems <- c(problems, "nested call")
    } else if (is.symbol(arg)) {
      problems <- c(problems, "bare symbol argument")
    } else if (!is.atomic(arg) || length(arg) != 1L) {
      problems <- c(problems, "argument is not a single value")
    } else if (is.character(arg)) {
      if (is.na(arg) || !grepl("^[A-Za-z0-9_.+;:,$-]+$", arg)) {
        problems <- c(problems, paste0("string outside Opal's grammar: ", substr(arg, 1, 40)))
      }
    } else if (is.numeric(arg)) {
      if (!is.finite(arg) || arg < 0) problems <- c(problems, "number Opal cannot parse")
    } else if (!is.logical(arg) || is.na(arg)) {
      problems <- c(problems, "argument of an unsupported type")
    }
  }
  text <- paste(deparse(expr, width.cutoff = 500L), collapse = "\n")
  reparsed <- tryCatch(str2lang(text), error = function(e) NULL)
  if (!identical(reparsed, expr)) problems <- c(problems, "does not survive deparse and parse")
  if (record$chars > 1e6) problems <- c(problems, "longer than 1,000,000 characters")
  problems
}
