# R/extendr-wrappers.R is written by hand: every `.Call` in the package must
# name a routine the Rust library registers, with the number of arguments it
# registers, and every registered `wrap__` routine must have its wrapper.

# The `.Call`s in a function's body, as list(symbol, number of arguments).
dot_calls_in <- function(expr) {
  if (!is.call(expr)) {
    return(list())
  }
  found <- list()
  if (identical(expr[[1L]], as.name(".Call"))) {
    found <- list(list(symbol = as.character(expr[[2L]]), args = length(expr) - 2L))
  }
  c(found, unlist(lapply(as.list(expr)[-1L], dot_calls_in), recursive = FALSE))
}

package_dot_calls <- function() {
  ns <- asNamespace("dsMHE")
  funs <- Filter(function(f) is.function(ns[[f]]), ls(ns, all.names = TRUE))
  calls <- unlist(lapply(funs, function(f) dot_calls_in(body(ns[[f]]))), recursive = FALSE)
  stats::setNames(vapply(calls, `[[`, 0L, "args"), vapply(calls, `[[`, "", "symbol"))
}

test_that("every .Call wrapper matches a registered routine and its number of arguments", {
  used <- package_dot_calls()
  expect_gt(length(used), 10L)
  routines <- getDLLRegisteredRoutines("dsMHE")$.Call
  registered <- vapply(routines, `[[`, 0L, "numParameters")
  names(registered) <- vapply(routines, `[[`, "", "name")
  unknown <- setdiff(names(used), names(registered))
  expect(length(unknown) == 0L, paste("no registered routine:", paste(unknown, collapse = ", ")))
  known <- intersect(names(used), names(registered))
  mismatch <- known[used[known] != registered[known]]
  expect(length(mismatch) == 0L, paste0(
    "argument counts differ: ",
    paste0(mismatch, " (wrapper ", used[mismatch], ", registered ", registered[mismatch], ")",
           collapse = ", ")
  ))
})

test_that("every registered routine of the Rust library has its wrapper", {
  routines <- getDLLRegisteredRoutines("dsMHE")$.Call
  registered <- vapply(routines, `[[`, "", "name")
  # extendr's own metadata routines, which no wrapper calls
  registered <- registered[!grepl("^wrap__(make_.*_wrappers|get_.*_metadata)$", registered)]
  missing <- setdiff(registered, names(package_dot_calls()))
  expect(length(missing) == 0L, paste("no wrapper for:", paste(missing, collapse = ", ")))
})

test_that("the wrapper check finds a .Call whose arguments do not match", {
  f <- function(a, b) .Call(wrap__rs_demo, a, b)
  expect_identical(dot_calls_in(body(f)), list(list(symbol = "wrap__rs_demo", args = 2L)))
  nested <- quote({ x <- 1; if (x) rs_call(.Call(wrap__other, x)) })
  expect_identical(dot_calls_in(nested), list(list(symbol = "wrap__other", args = 1L)))
})
