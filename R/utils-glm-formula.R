# GLM formulas: transport and allow-list --------------------------------------
#
# A formula cannot travel as R code (Opal's grammar refuses `~`, spaces and
# nested calls), so the client sends the deparsed text as base64url. Both the
# client (early, clear errors) and every site (the rule that counts) parse it
# and walk the expression against an allow-list before anything evaluates it:
#
# - model terms: column names, `0` or `1` (intercept), and the formula
#   operators `+ - : * ( )` and `^` with a whole-number power;
# - inside the functions log(), exp(), sqrt(), log1p(), expm1(), abs() and I():
#   column names, finite numbers and the arithmetic `+ - * / ^ ( )`.
#
# Anything else (a call to any other function, `$`, a string, a named
# argument, `.`) is refused with an error naming it. Column names must look
# like `LAB_TSC` (letters, digits, `.` and `_`), so that they travel as plain
# strings. The formula is then given `baseenv()` as its environment, so that
# model.frame() finds only base's functions and the columns of `data`.

glm_functions <- c("log", "exp", "sqrt", "log1p", "expm1", "abs", "I")
glm_column_pattern <- "^[A-Za-z.][A-Za-z0-9._]*$"
glm_formula_max_chars <- 10000L
glm_formula_max_depth <- 100L

# Parse and check formula text; `fail(problem)` raises the error (client or
# site). Returns list(formula, text, response, bare, arith): the formula
# (environment baseenv()), its normalised text, the response if it is a bare
# column (else NULL), the columns used as terms and those used inside
# functions.
glm_formula_parse <- function(text, fail) {
  ok <- is.character(text) && length(text) == 1L && !is.na(text) &&
    nchar(text, type = "bytes") <= glm_formula_max_chars && validUTF8(text)
  if (!ok) {
    fail(paste0("`formula` must be one formula of at most ", glm_formula_max_chars, " characters"))
  }
  exprs <- tryCatch(str2expression(text), error = function(e) NULL)
  f <- if (length(exprs) == 1L) exprs[[1L]]
  if (!is.call(f) || !identical(f[[1L]], as.name("~")) || length(f) != 3L) {
    fail("`formula` must be one two-sided formula such as `y ~ x + f`")
  }
  lhs <- glm_walk(f[[2L]], arith = !is.name(f[[2L]]), depth = 0L, fail = fail)
  if (!length(c(lhs$bare, lhs$arith))) {
    fail("the response of `formula` must be a column, or a function of columns")
  }
  rhs <- glm_walk(f[[3L]], arith = FALSE, depth = 0L, fail = fail)
  formula <- stats::as.formula(f, env = baseenv())
  list(
    formula = formula,
    text = paste(deparse(f, width.cutoff = 500L), collapse = " "),
    response = if (is.name(f[[2L]])) as.character(f[[2L]]),
    bare = unique(c(lhs$bare, rhs$bare)),
    arith = unique(c(lhs$arith, rhs$arith))
  )
}

# Walk one expression; returns the column names met, as list(bare, arith).
glm_walk <- function(e, arith, depth, fail) {
  if (depth > glm_formula_max_depth) {
    fail(paste0("`formula` is nested more than ", glm_formula_max_depth, " levels deep"))
  }
  if (is.name(e)) {
    return(glm_walk_name(as.character(e), arith, fail))
  }
  if (is.numeric(e) && length(e) == 1L && is.finite(e)) {
    if (!arith && !e %in% c(0, 1)) {
      fail("a number among the terms of a formula must be 0 or 1 (the intercept); use I() for arithmetic")
    }
    return(list(bare = character(), arith = character()))
  }
  if (!is.call(e)) {
    fail("a formula may hold only column names, numbers, operators and allowed functions")
  }
  fn <- if (is.name(e[[1L]])) as.character(e[[1L]]) else "(an expression)"
  args <- as.list(e)[-1L]
  if (!is.null(names(args)) && any(nzchar(names(args)))) {
    fail(paste0("named arguments are not allowed in a formula (in `", glm_short(fn), "()`)"))
  }
  n <- length(args)
  allowed <- if (arith) {
    (fn %in% c("+", "-") && n %in% 1:2) || (fn %in% c("*", "/", "^") && n == 2L) ||
      (fn == "(" && n == 1L) || (fn %in% glm_functions && n == 1L) ||
      (fn == "log" && n == 2L)
  } else {
    (fn %in% c("+", "-") && n %in% 1:2) || (fn %in% c(":", "*") && n == 2L) ||
      (fn == "(" && n == 1L) || (fn %in% glm_functions && n == 1L) ||
      (fn == "log" && n == 2L) || fn == "^"
  }
  if (!allowed) {
    fail(glm_refusal(fn))
  }
  inner <- arith || fn %in% glm_functions
  if (!arith && fn == "^") {
    power <- args[[2L]]
    ok <- n == 2L && is.numeric(power) && length(power) == 1L && is.finite(power) &&
      power == round(power) && power >= 1 && power <= 10
    if (!ok) fail("the power of a formula term `(...)^k` must be a whole number from 1 to 10")
    args <- args[1L]
  }
  found <- lapply(args, glm_walk, arith = inner, depth = depth + 1L, fail = fail)
  list(
    bare = unlist(lapply(found, `[[`, "bare")),
    arith = unlist(lapply(found, `[[`, "arith"))
  )
}

glm_walk_name <- function(name, arith, fail) {
  if (identical(name, ".")) {
    fail("`.` (all columns) is not supported in a formula: name the columns")
  }
  if (!grepl(glm_column_pattern, name)) {
    fail(paste0("`", glm_short(name), "` is not a column name (letters, digits, `.` and `_`)"))
  }
  if (arith) list(bare = character(), arith = name) else list(bare = name, arith = character())
}

glm_refusal <- function(fn) {
  if (fn %in% c("$", "[[", "[", "@")) {
    return(paste0(
      "`", fn, "` is not allowed in a formula: use the column names of `data` (`x`, not `D$x`)"
    ))
  }
  paste0(
    "`", glm_short(fn), "()` is not allowed in a formula: only column names, ",
    "the operators + - * : ^ ( ), 0 or 1, and ",
    paste0(glm_functions, "()", collapse = ", "), " with arithmetic inside"
  )
}

glm_short <- function(x) {
  x <- gsub("[^[:print:]]", "?", x)
  if (nchar(x) > 40L) paste0(substr(x, 1L, 40L), "...") else x
}

# Levels of the categorical variables, for transport: one base64url string of
# lines, "=<column>" then ".<level>" for each of its levels.
glm_levels_encode <- function(levels) {
  if (!length(levels)) {
    return(NULL)
  }
  lines <- unlist(lapply(names(levels), function(v) {
    c(paste0("=", v), paste0(".", enc2utf8(as.character(levels[[v]]))))
  }))
  rs_call(rs_b64_encode(charToRaw(paste(lines, collapse = "\n"))))
}

glm_levels_decode <- function(text, site) {
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
  ok <- all(grepl(glm_column_pattern, vars)) && !anyDuplicated(vars) &&
    all(lengths(levels) <= 1000L) && !any(vapply(levels, anyDuplicated, 0L) > 0L)
  if (!ok) fail("`levels` must name distinct columns, each with at most 1000 distinct levels")
  levels
}
