# Runs last: every call the suite sent to a DSLite server, checked against the
# rules of Opal's parser (see DESIGN.md, "DataSHIELD transport rules").

test_that("every call sent to a server obeys Opal's rules", {
  calls <- opal_recorder$calls
  skip_if(length(calls) < 10L, "run the whole suite to record calls")
  declared <- opal_declared()
  problems <- lapply(calls, opal_problems, declared = declared)
  bad <- which(lengths(problems) > 0L)
  # calls that tests send on purpose to prove the servers refuse them are
  # still well-formed for Opal; none may break the rules
  details <- vapply(bad, function(i) {
    paste0(calls[[i]]$site, " ", calls[[i]]$type, ": ", paste(problems[[i]], collapse = "; "),
           " in ", substr(paste(deparse(calls[[i]]$expr), collapse = ""), 1, 80))
  }, "")
  expect(length(bad) == 0L, paste(c("Calls that break Opal's rules:", head(details, 20)), collapse = "\n"))
  types <- vapply(calls, `[[`, "", "type")
  expect_true(all(c("aggregate", "assign") %in% types))
})

test_that("the checker catches what Opal refuses", {
  declared <- opal_declared()
  check <- function(expr, type = "aggregate") {
    opal_problems(list(expr = expr, type = type, chars = 10), declared)
  }
  expect_length(check(call("mheMeanDS", "D$x", "abc")), 0L)
  expect_match(check(call("mheMeanDS", call("c", "a")))[1], "nested call")
  expect_match(check(call("mheMeanDS", "a b")), "grammar")
  expect_match(check(call("mheMeanDS", "a/b")), "grammar")
  expect_match(check(call("mheMeanDS", "")), "grammar")
  expect_match(check(call("mean", "x")), "not a declared")
  expect_match(check(call("mheMeanDS", "x"), type = "assign"), "not a declared")
  expect_true(any(grepl("single value", check(call("mheMeanDS", c(1, 2))))))
})
