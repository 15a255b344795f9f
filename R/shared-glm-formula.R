# GLM formulas: transport and a small formula language -------------------------
#
# A formula cannot travel as R code (Opal's grammar refuses `~`, spaces and
# nested calls), so the client sends the deparsed text as base64url. Both the
# client (early, clear errors) and every site (the rule that counts) parse it
# against a small language before anything evaluates it:
#
# - model terms: column names, `0` or `1` (the intercept, with `+` or `-`),
#   the operators `+ - : * ( )`, and `(...)^k` with k from 1 to 3;
# - a transform of ONE column: log(x), sqrt(x), exp(x), log1p(x), expm1(x),
#   abs(x), I(x^2) and I(x^3); nothing else inside a function;
# - interactions of at most 3 variables.
#
# No free numeric constant can enter a column, so no argument builds a column
# that selects a row (`I(y * exp(-1e6 * (id - 7)^2))`). Anything else (a call
# to any other function, `$`, a string, a named argument, `.`) is refused with
# an error naming it. Column names must look like `LAB_TSC` (letters, digits,
# `.` and `_`), so that they travel as plain strings. The terms are expanded
# here, without terms(), and their number bounded, so that the site can count
# the model-matrix columns (`mhe_glm_count_columns()`) before building anything.
# The formula is given `baseenv()` as its environment, so that model.frame()
# finds only base's functions and the columns of `data`.

mhe_glm_functions <- c("log", "sqrt", "exp", "log1p", "expm1", "abs", "I")
mhe_glm_powers <- 2:3
mhe_glm_column_pattern <- "^[A-Za-z.][A-Za-z0-9._]*$"
mhe_glm_formula_max_chars <- 10000L
mhe_glm_formula_max_depth <- 100L
mhe_glm_max_columns <- 200L
mhe_glm_max_order <- 3L

# Parse and check formula text; `fail(problem)` raises the error (client or
# site). Returns list(formula, text, response, bare, arith, terms,
# intercept): the formula (environment baseenv()), its normalised text, the
# response if it is a bare column (else NULL), the columns used as terms and
# those used inside transforms, the expanded terms (each a character vector
# of its variables: column names or transform texts) and whether the model
# has an intercept.
mhe_glm_formula_parse <- function(text, fail) {
  ok <- is.character(text) && length(text) == 1L && !is.na(text) &&
    nchar(text, type = "bytes") <= mhe_glm_formula_max_chars && validUTF8(text)
  if (!ok) {
    fail(paste0("`formula` must be one formula of at most ", mhe_glm_formula_max_chars, " characters"))
  }
  exprs <- tryCatch(str2expression(text), error = function(e) NULL)
  f <- if (length(exprs) == 1L) exprs[[1L]]
  if (!is.call(f) || !identical(f[[1L]], as.name("~")) || length(f) != 3L) {
    fail("`formula` must be one two-sided formula such as `y ~ x + f`")
  }
  lhs <- f[[2L]]
  response <- if (is.name(lhs)) {
    mhe_glm_walk_name(as.character(lhs), fail)
  } else if (is.call(lhs)) {
    mhe_glm_transform(lhs, fail)
  }
  if (is.null(response)) {
    fail("the response of `formula` must be a column, or a transform of one column")
  }
  rhs <- mhe_glm_expand(f[[3L]], depth = 0L, fail = fail)
  vars <- unique(unlist(rhs$terms))
  arith <- c(if (!is.name(lhs)) response, rhs$columns[vars[vars %in% names(rhs$columns)]])
  list(
    formula = stats::as.formula(f, env = baseenv()),
    text = paste(deparse(f, width.cutoff = 500L), collapse = " "),
    response = if (is.name(lhs)) response,
    bare = unique(c(if (is.name(lhs)) response, setdiff(vars, names(rhs$columns)))),
    arith = unique(unname(arith)),
    terms = rhs$terms,
    intercept = !isFALSE(rhs$intercept)
  )
}

# Expand the right-hand side into its terms, as terms() would, with bounds:
# list(terms, intercept (NA when not said), columns (transform text ->
# column)).
mhe_glm_expand <- function(e, depth, fail) {
  if (depth > mhe_glm_formula_max_depth) {
    fail(paste0("`formula` is nested more than ", mhe_glm_formula_max_depth, " levels deep"))
  }
  node <- function(terms = list(), intercept = NA, columns = character()) {
    list(terms = terms, intercept = intercept, columns = columns)
  }
  if (is.numeric(e) && length(e) == 1L && e %in% c(0, 1)) {
    return(node(intercept = e == 1))
  }
  if (is.numeric(e)) {
    fail("a number among the terms of a formula must be 0 or 1 (the intercept)")
  }
  if (is.name(e)) {
    return(node(terms = list(mhe_glm_walk_name(as.character(e), fail))))
  }
  if (!is.call(e)) {
    fail("a formula may hold only column names, 0 or 1, operators and allowed transforms")
  }
  fn <- if (is.name(e[[1L]])) as.character(e[[1L]]) else "(an expression)"
  args <- as.list(e)[-1L]
  if (!is.null(names(args)) && any(nzchar(names(args)))) {
    fail(paste0("named arguments are not allowed in a formula (in `", mhe_glm_short(fn), "()`)"))
  }
  n <- length(args)
  sub <- function(k) mhe_glm_expand(args[[k]], depth + 1L, fail)
  if (fn %in% mhe_glm_functions) {
    column <- mhe_glm_transform(e, fail)
    text <- paste(deparse(e, width.cutoff = 500L), collapse = " ")
    return(node(terms = list(text), columns = stats::setNames(column, text)))
  }
  if (fn == "(" && n == 1L) {
    return(sub(1L))
  }
  if (fn == "+" && n == 1L) {
    return(sub(1L))
  }
  if (fn == "-" && n == 1L) {
    one <- args[[1L]]
    if (!(is.numeric(one) && length(one) == 1L && one %in% c(0, 1))) {
      fail("a unary minus in a formula applies only to 0 or 1 (`-1`: no intercept)")
    }
    return(node(intercept = one == 0))
  }
  if (fn %in% c("+", "-", ":", "*") && n == 2L) {
    a <- sub(1L)
    b <- sub(2L)
    columns <- c(a$columns, b$columns)
    columns <- columns[!duplicated(names(columns))]
    if (fn %in% c(":", "*") && (!is.na(a$intercept) || !is.na(b$intercept))) {
      fail("0 or 1 can't be part of an interaction")
    }
    terms <- switch(fn,
      "+" = mhe_glm_union(a$terms, b$terms, fail),
      "-" = a$terms[!mhe_glm_term_keys(a$terms) %in% mhe_glm_term_keys(b$terms)],
      ":" = mhe_glm_cross(a$terms, b$terms, fail),
      "*" = mhe_glm_union(mhe_glm_union(a$terms, b$terms, fail), mhe_glm_cross(a$terms, b$terms, fail), fail)
    )
    intercept <- switch(fn,
      "+" = if (is.na(b$intercept)) a$intercept else b$intercept,
      "-" = if (is.na(b$intercept)) a$intercept else !b$intercept,
      NA
    )
    return(list(terms = terms, intercept = intercept, columns = columns))
  }
  if (fn == "^" && n == 2L) {
    power <- args[[2L]]
    ok <- is.numeric(power) && length(power) == 1L && is.finite(power) &&
      power == round(power) && power >= 1 && power <= mhe_glm_max_order
    if (!ok) {
      fail(paste0("the power of a formula term `(...)^k` must be a whole number from 1 to ", mhe_glm_max_order))
    }
    a <- sub(1L)
    if (!is.na(a$intercept)) fail("0 or 1 can't be part of an interaction")
    terms <- a$terms
    for (k in seq_len(power - 1L)) terms <- mhe_glm_union(terms, mhe_glm_cross(terms, a$terms, fail), fail)
    return(list(terms = terms, intercept = NA, columns = a$columns))
  }
  fail(mhe_glm_refusal(fn))
}

mhe_glm_term_keys <- function(terms) vapply(terms, paste, "", collapse = ":")

mhe_glm_bound_terms <- function(terms, fail) {
  if (length(terms) > mhe_glm_max_columns) {
    fail(paste0(
      "the formula expands to more than ", mhe_glm_max_columns, " terms; a model has at most ",
      mhe_glm_max_columns, " columns"
    ))
  }
  terms
}

mhe_glm_union <- function(a, b, fail) {
  terms <- c(a, b)
  mhe_glm_bound_terms(terms[!duplicated(mhe_glm_term_keys(terms))], fail)
}

# All interactions of a term of `a` with a term of `b` (variables sorted).
mhe_glm_cross <- function(a, b, fail) {
  mhe_glm_bound_terms(a, fail)
  mhe_glm_bound_terms(b, fail)
  terms <- list()
  for (x in a) for (y in b) {
    term <- sort(unique(c(x, y)))
    if (length(term) > mhe_glm_max_order) {
      fail(paste0("an interaction in a formula has at most ", mhe_glm_max_order, " variables"))
    }
    terms[[length(terms) + 1L]] <- term
  }
  mhe_glm_bound_terms(terms[!duplicated(mhe_glm_term_keys(terms))], fail)
}

# A transform of one column: f(x) for f in mhe_glm_functions but I(), or I(x^k)
# for k in mhe_glm_powers. Returns the column's name.
mhe_glm_transform <- function(e, fail) {
  fn <- if (is.name(e[[1L]])) as.character(e[[1L]]) else "(an expression)"
  if (!fn %in% mhe_glm_functions) {
    fail(mhe_glm_refusal(fn))
  }
  args <- as.list(e)[-1L]
  if (!is.null(names(args)) && any(nzchar(names(args)))) {
    fail(paste0("named arguments are not allowed in a formula (in `", mhe_glm_short(fn), "()`)"))
  }
  inner <- if (length(args) == 1L) args[[1L]]
  if (fn == "I") {
    ok <- is.call(inner) && identical(inner[[1L]], as.name("^")) && length(inner) == 3L &&
      is.name(inner[[2L]]) && is.numeric(inner[[3L]]) && length(inner[[3L]]) == 1L &&
      inner[[3L]] %in% mhe_glm_powers
    if (!ok) {
      fail("I() in a formula takes only a power of one column: I(x^2) or I(x^3)")
    }
    return(mhe_glm_walk_name(as.character(inner[[2L]]), fail))
  }
  if (!is.name(inner)) {
    fail(paste0("`", fn, "()` in a formula takes exactly one column name, such as `", fn, "(x)`"))
  }
  mhe_glm_walk_name(as.character(inner), fail)
}

mhe_glm_walk_name <- function(name, fail) {
  if (identical(name, ".")) {
    fail("`.` (all columns) is not supported in a formula: name the columns")
  }
  if (!grepl(mhe_glm_column_pattern, name)) {
    fail(paste0("`", mhe_glm_short(name), "` is not a column name (letters, digits, `.` and `_`)"))
  }
  name
}

# The number of model-matrix columns, counted from the expanded terms and the
# number of levels of each categorical variable (`nlevels`, named), every
# level counted (an upper bound of what contrasts keep); refused above
# mhe_glm_max_columns before anything is built.
mhe_glm_count_columns <- function(parsed, nlevels, fail) {
  width <- function(term) prod(vapply(term, function(v) {
    if (v %in% names(nlevels)) max(1, nlevels[[v]]) else 1
  }, 1))
  total <- as.numeric(parsed$intercept) + sum(vapply(parsed$terms, width, 1))
  if (total > mhe_glm_max_columns) {
    fail(paste0(
      "the model would have ", format(total, scientific = FALSE), " columns (every level ",
      "of each factor counted); a site fits at most ", mhe_glm_max_columns
    ))
  }
  total
}

mhe_glm_refusal <- function(fn) {
  if (fn %in% c("$", "[[", "[", "@")) {
    return(paste0(
      "`", fn, "` is not allowed in a formula: use the column names of `data` (`x`, not `D$x`)"
    ))
  }
  paste0(
    "`", mhe_glm_short(fn), "()` is not allowed in a formula: only column names, ",
    "the operators + - * : ( ) and (...)^k (k <= ", mhe_glm_max_order, "), 0 or 1, ",
    "and the transforms of one column ",
    paste0(setdiff(mhe_glm_functions, "I"), "(x)", collapse = ", "), ", I(x^2), I(x^3)"
  )
}

mhe_glm_short <- function(x) {
  x <- gsub("[^[:print:]]", "?", x)
  if (nchar(x) > 40L) paste0(substr(x, 1L, 40L), "...") else x
}

# Levels of the categorical variables, for transport: one base64url string of
# lines, "=<column>" then ".<level>" for each of its levels.
mhe_glm_levels_encode <- function(levels) {
  if (!length(levels)) {
    return(NULL)
  }
  lines <- unlist(lapply(names(levels), function(v) {
    c(paste0("=", v), paste0(".", enc2utf8(as.character(levels[[v]]))))
  }))
  rs_call(rs_b64_encode(charToRaw(paste(lines, collapse = "\n"))))
}

mhe_glm_levels_decode <- function(text, site) {
  fail <- function(problem) mhe_server_abort(site, problem)
  raw <- rs_call(rs_b64_decode(text), site = site)
  if (any(raw == as.raw(0L))) fail("`levels` must not contain NUL bytes")
  text <- rawToChar(raw)
  Encoding(text) <- "UTF-8"
  lines <- strsplit(text, "\n", fixed = TRUE)[[1L]]
  is_var <- startsWith(lines, "=")
  ok <- length(lines) >= 2L && is_var[1L] && all(is_var | startsWith(lines, ".")) &&
    !any(is_var & c(is_var[-1L], TRUE))
  if (!ok) fail("`levels` is malformed")
  group <- cumsum(is_var)
  vars <- substring(lines[is_var], 2L)
  levels <- lapply(split(substring(lines[!is_var], 2L), group[!is_var]), unname)
  names(levels) <- vars
  ok <- all(grepl(mhe_glm_column_pattern, vars)) && !anyDuplicated(vars) &&
    all(lengths(levels) <= 1000L) && !any(vapply(levels, anyDuplicated, 0L) > 0L)
  if (!ok) fail("`levels` must name distinct columns, each with at most 1000 distinct levels")
  levels
}

# The design matrix, built the same way at every site and at the client (for
# the column names): treatment contrasts for every factor and logical term.
mhe_glm_design <- function(mf, site = NULL) {
  tt <- attr(mf, "terms")
  response <- if (attr(tt, "response") > 0L) names(mf)[1L]
  discrete <- names(mf)[vapply(mf, function(x) is.factor(x) || is.logical(x), TRUE)]
  discrete <- setdiff(discrete, response)
  contrasts <- stats::setNames(rep(list("contr.treatment"), length(discrete)), discrete)
  srv_glm_try(site, "the model matrix", stats::model.matrix(tt, mf, contrasts.arg = contrasts))
}

# Differential privacy (issue 14; rust/mhe/DP.md, section 10) -----------------

# The vector of a GLM "dp" round: the upper triangle of scale x U'WU
# (column-major, `p` columns), the score U'R, the sum of the squared scaled
# responses (gaussian; else 0) and the number of rows (0 when scale is 0).
mhe_glm_dp_layout <- function(p) {
  fields <- c(xwx = (p * (p + 1L)) %/% 2L, xr = p, vv = 1L, n = 1L)
  structure(as.integer(fields), names = names(fields), kind = "glm-dp", class = "mhe_layout")
}

# The map of bounds c(lo, hi) to [-1, 1]: u = (x - m) / r; with an intercept
# the midpoint and half width (the intercept absorbs m), without one m = 0
# and r = max |bound| (a shift could not be absorbed).
mhe_glm_dp_range <- function(bounds, intercept) {
  if (intercept) {
    list(m = (bounds[1L] + bounds[2L]) / 2, r = (bounds[2L] - bounds[1L]) / 2)
  } else {
    list(m = 0, r = max(abs(bounds)))
  }
}

# The ranges of the model matrix's columns, list(m, r) (the intercept: 0, 1),
# from the bounds of their variables: a numeric variable's bounds (named
# list by variable), [0, 1] for a factor level's or a logical's dummy, the
# product interval for an interaction. `fail(problem)` raises the error.
mhe_glm_dp_ranges <- function(X, factors, class, bounds, intercept, fail) {
  assign <- attr(X, "assign")
  m <- numeric(ncol(X))
  r <- rep(1, ncol(X))
  for (j in seq_len(ncol(X))) {
    a <- assign[j]
    if (a == 0L) next
    vars <- rownames(factors)[factors[, a] > 0]
    interval <- c(1, 1)
    for (v in vars) {
      b <- if (class[[v]] == "numeric") bounds[[v]] else c(0, 1)
      if (is.null(b)) fail(paste0("needs bounds for `", v, "`"))
      ends <- c(interval[1L] * b, interval[2L] * b)
      interval <- c(min(ends), max(ends))
    }
    map <- mhe_glm_dp_range(interval, intercept)
    if (!(map$r > 0)) {
      fail(paste0("needs bounds of nonzero width for the column `", colnames(X)[j], "`"))
    }
    m[j] <- map$m
    r[j] <- map$r
  }
  list(m = m, r = r)
}

# zCDP <-> (epsilon, delta), as dp::accounting (DP.md section 5): the
# CKS form minimised over alpha, never above the standard bound; the inverse
# by bisection. A GLM splits one query's cost over its rounds with these.
mhe_glm_dp_epsilon_of_rho <- function(rho, delta) {
  if (rho <= 0) {
    return(0)
  }
  f <- function(s) {
    a <- 1 + exp(s)
    a * rho + (log(1 / delta) - log(a)) / (a - 1) + log(1 - 1 / a)
  }
  tight <- stats::optimize(f, c(-30, 50), tol = 1e-12)$objective
  max(0, min(tight, rho + 2 * sqrt(rho * log(1 / delta))))
}

mhe_glm_dp_rho_for_epsilon <- function(epsilon, delta) {
  lo <- 0
  hi <- max(1, epsilon)
  while (mhe_glm_dp_epsilon_of_rho(hi, delta) <= epsilon) hi <- hi * 2
  for (i in 1:200) {
    mid <- (lo + hi) / 2
    if (mhe_glm_dp_epsilon_of_rho(mid, delta) <= epsilon) lo <- mid else hi <- mid
    if (hi - lo <= 1e-15 * hi) break
  }
  lo
}
