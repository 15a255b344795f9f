# Client-side argument checks -------------------------------------------------

mhe_check_variable <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (!is.character(x) || length(x) != 1L || is.na(x) ||
      !grepl(mhe_variable_pattern, x)) {
    mhe_abort(c(
      "{.arg {arg}} must be one variable name such as {.val D$age}.",
      x = if (is.character(x) && length(x) == 1L) "Not a variable name: {.val {x}}."
    ), class = "input", call = call)
  }
  x
}

# Pooled counts come back as doubles that are exact integers.
mhe_count <- function(x) {
  x <- round(x)
  if (all(abs(x) < .Machine$integer.max)) as.integer(x) else x
}
