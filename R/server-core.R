# Server side: the party, argument validation, variables ---------------------
#
# Every server function starts with `env <- parent.frame()`, the DataSHIELD
# session's environment, where `mheInitDS()` left the party as `mhe.party` and
# where the analyst's tables live. Nothing is kept in the package namespace:
# DSLite runs every site (and the client) in one R process.

srv_party <- function(env) {
  party <- if (exists("mhe.party", envir = env, inherits = FALSE)) {
    get("mhe.party", envir = env, inherits = FALSE)
  }
  if (!is.null(party) && !srv_is_party(party)) {
    mhe_server_abort(NULL, "`mhe.party` is not a dsMHE party", class = "setup")
  }
  if (is.null(party)) {
    mhe_server_abort(
      NULL,
      "this site has no dsMHE session: call `ds.mheSetup()` first",
      class = "setup"
    )
  }
  party
}

# A party made by mheInitDS(): an external pointer whose only attribute is
# the site name. The Rust bindings read any external pointer as a party
# (extendr dereferences it before checking its type), so a foreign one, such
# as the address of a native routine that an assign method of another package
# could leave in `mhe.party`, must never reach them: it would crash R.
srv_is_party <- function(x) {
  site <- attr(x, "mhe_site", exact = TRUE)
  typeof(x) == "externalptr" && identical(names(attributes(x)), "mhe_site") &&
    is.character(site) && length(site) == 1L && !is.na(site)
}

srv_site <- function(party) attr(party, "mhe_site", exact = TRUE) %||% "this site"

srv_string <- function(x, site, arg, pattern = mhe_grammar, max_chars = 1e6,
                       what = "a string of the transport alphabet") {
  if (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x)) {
    mhe_server_abort(site, paste0("`", arg, "` must be a single non-empty string"))
  }
  if (nchar(x, type = "bytes") > max_chars) {
    mhe_server_abort(site, paste0("`", arg, "` must have at most ", max_chars, " characters"))
  }
  if (!grepl(pattern, x, perl = TRUE)) {
    mhe_server_abort(site, paste0("`", arg, "` must be ", what))
  }
  x
}

srv_count <- function(x, site, arg, min = 0L, max = 1e6) {
  ok <- is.numeric(x) && length(x) == 1L && !is.na(x) && x == round(x) &&
    x >= min && x <= max
  if (!ok) {
    mhe_server_abort(site, paste0("`", arg, "` must be a whole number between ", min, " and ", max))
  }
  as.integer(x)
}

srv_query <- function(query, site) {
  srv_string(query, site, "query", mhe_id_pattern, 22L, "a query id (22 base64url characters)")
}

srv_sites <- function(sites, site) {
  srv_string(sites, site, "sites", "^[A-Za-z0-9_.+-]+(,[A-Za-z0-9_.+-]+)*$", 1e5,
             "site names separated by commas")
  sites <- strsplit(sites, ",", fixed = TRUE)[[1]]
  if (anyDuplicated(sites)) {
    mhe_refuse(site, "the list of sites names a site twice")
  }
  if (!site %in% sites) {
    mhe_refuse(site, "the list of sites does not include this site")
  }
  sites
}

# A blob argument: base64url text, or "buf:<name>" for a buffer filled by
# mheUploadDS(). Returns the raw bytes.
srv_blob <- function(party, x, site, arg) {
  srv_string(x, site, arg, "^(buf:[A-Za-z0-9_.+-]+|[A-Za-z0-9_-]+)$", 1e6,
             "base64url text without padding, or a buffer name")
  if (startsWith(x, mhe_buffer_prefix)) {
    name <- substring(x, nchar(mhe_buffer_prefix) + 1L)
    return(rs_call(rs_party_buffer_take(party, name), site = site))
  }
  rs_call(rs_b64_decode(x), site = site)
}

srv_doubles <- function(x, site, arg, n = NULL) {
  srv_string(x, site, arg, "^[0-9a-f]{16}(,[0-9a-f]{16})*$", 17e4,
             "doubles as comma-separated hex")
  value <- mhe_dbl_decode(x)
  if (!is.null(n) && length(value) != n) {
    mhe_server_abort(site, paste0("`", arg, "` must hold ", n, " number", if (n > 1) "s"))
  }
  if (!all(is.finite(value))) {
    mhe_server_abort(site, paste0("`", arg, "` must hold finite numbers"))
  }
  value
}

# Variables -------------------------------------------------------------------

mhe_variable_pattern <- "^[A-Za-z][A-Za-z0-9._]*(\\$[A-Za-z.][A-Za-z0-9._]*)?$"

# Resolve "D" or "D$col" in the session, without evaluating any code.
srv_object <- function(x, env, site, arg = "x") {
  srv_string(x, site, arg, mhe_variable_pattern, 200L,
             "a variable name such as `D$age`")
  parts <- strsplit(x, "$", fixed = TRUE)[[1]]
  if (startsWith(parts[1], "mhe.") ||
      !exists(parts[1], envir = env, inherits = FALSE)) {
    mhe_server_abort(site, paste0("object `", parts[1], "` does not exist"))
  }
  object <- get(parts[1], envir = env, inherits = FALSE)
  if (length(parts) == 2L) {
    if (!is.data.frame(object)) {
      mhe_server_abort(site, paste0("`", parts[1], "` must be a data frame"))
    }
    if (!parts[2] %in% names(object)) {
      mhe_server_abort(site, paste0("`", parts[1], "` has no column `", parts[2], "`"))
    }
    object <- object[[parts[2]]]
  }
  object
}

srv_numeric <- function(x, env, site, arg = "x") {
  value <- srv_object(x, env, site, arg)
  if (!is.numeric(value) || is.factor(value)) {
    mhe_server_abort(site, paste0("`", x, "` must be numeric, not ", srv_type(value)))
  }
  as.double(value)
}

srv_type <- function(x) {
  if (is.factor(x)) return("a factor")
  if (is.data.frame(x)) return("a data frame")
  paste0("of type ", typeof(x))
}

# The contribution is signed over the digest of the server call's arguments
# (`srv_call_text()`), so that one query cannot mix contributions computed from
# different arguments (say `D$x` at one site and `D$y` at the others); the same
# text is the audit log's record of what was computed. `variables` is every
# variable the statistic reads (`"D$age"`; for a GLM each data column of the
# formula, the weights and the offset), `call` the server function's own
# `match.call()`: the signing input is passed, never searched for.
#
# Differential privacy (`srv_dp_settings()`, R/server-dp.R): `sensitivity =
# list(l2 = , l1 = )` is the L2 and L1 sensitivity of `values`, in their
# units, after clipping, for one row added or removed; `epsilon` the
# analyst's optional request for this query (at most the admin's per-query
# epsilon). With DP on, a statistic that states no sensitivity is refused
# (kind `dp_unsupported`): no statistic releases exact values by forgetting
# it. With DP off both are ignored and the contribution is exact.
srv_contribute <- function(party, site, query, kind, variables, sites, values, call,
                           sensitivity = NULL, epsilon = NULL) {
  if (!all(is.finite(values))) {
    mhe_server_abort(site, paste0(
      paste(variables, collapse = ", "), " yields a value that is not finite"
    ))
  }
  arguments <- srv_call_text(call, site)
  dp <- double()
  settings <- srv_dp_settings(site)
  if (!is.null(settings)) {
    if (is.null(sensitivity)) {
      srv_dp_refuse(site, paste0(
        "this site has differential privacy on, and the statistic `", kind,
        "` does not support it yet"
      ))
    }
    l2 <- sensitivity$l2
    l1 <- sensitivity$l1
    ok <- is.numeric(l2) && is.numeric(l1) && length(l2) == 1L && length(l1) == 1L &&
      is.finite(l2) && is.finite(l1) && l2 > 0 && l1 >= l2 * (1 - 1e-12)
    if (!ok) {
      srv_dp_refuse(site, paste0(
        "the sensitivity of `", kind, "` must be finite and positive, with l1 >= l2"
      ))
    }
    dp <- c(settings$epsilon, settings$delta, srv_dp_epsilon(epsilon, settings, site),
            l2, max(l1, l2))
  }
  rs_call(
    rs_party_contribute(party, query, kind, arguments, as.character(variables), sites,
                        as.double(values), as.double(dp)),
    site = site
  )
}

# A dsMHE server function's matched call as canonical text: its name and every
# argument but `query` and `sites`, values written exactly, so that every site
# of a query derives the same text from the same arguments.
srv_call_text <- function(call, site) {
  name <- if (is.call(call)) srv_call_name(call) else ""
  if (!grepl("^mhe[A-Za-z]+DS$", name)) {
    mhe_server_abort(site, "a contribution must be made by a dsMHE server function")
  }
  args <- as.list(call)[-1]
  args <- args[!names(args) %in% c("query", "sites")]
  text <- vapply(seq_along(args), function(k) {
    paste0(names(args)[k], " = ", srv_value_text(args[[k]]))
  }, "")
  paste0(name, "(", paste(text, collapse = ", "), ")")
}

# The name of the function a call calls, `f` or `pkg::f`; "" for anything else.
srv_call_name <- function(cl) {
  f <- cl[[1L]]
  if (is.call(f) && length(f) == 3L && identical(f[[1L]], as.name("::"))) f <- f[[3L]]
  if (is.name(f)) as.character(f) else ""
}

srv_value_text <- function(x) {
  v <- if (is.null(x)) {
    "NULL"
  } else if (is.character(x)) {
    encodeString(enc2utf8(x), quote = "\"")
  } else if (is.numeric(x)) {
    sprintf("%.17g", x)
  } else if (is.logical(x)) {
    as.character(x)
  } else {
    paste(deparse(x, width.cutoff = 500L), collapse = " ")
  }
  if (length(v) == 1L) v else paste0("c(", paste(v, collapse = ", "), ")")
}
