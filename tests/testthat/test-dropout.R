# Sites that fail during a query of a t-of-N session (R/client-query.R).
# Federation "four": sites site1 to site4, threshold 3 (their admins set
# mhe.min.threshold = 3). A contribution is a release: a site that already
# contributed a variable over the four never contributes it over three, so a
# site that fails at encryption after the others contributed cannot be left
# out; a site that fails at decryption keeps contributing, and t of the four
# decrypt.

test_that("a site that fails at encryption after the others contributed is not left out", {
  conns <- fresh_four()
  DSI::datashield.rm(conns["site2"], "D")
  on.exit(restore_table(conns, "site2"))
  err <- expect_error(
    expect_warning(ds.mheMean("D$age", datasources = conns), class = "dsMHE_warning_dropout"),
    class = "dsMHE_error_refused_set_changed"
  )
  expect_setequal(err$sites, c("site1", "site3", "site4"))
  expect_match(conditionMessage(err), "over the sites site1,site2,site3,site4", fixed = TRUE)
})

test_that("the dropout warning names the site, the stage and its error", {
  conns <- fresh_four()
  DSI::datashield.rm(conns["site2"], "D")
  on.exit(restore_table(conns, "site2"))
  w <- NULL
  withCallingHandlers(
    try(ds.mheMean("D$age", datasources = conns), silent = TRUE),
    dsMHE_warning_dropout = function(x) {
      w <<- x
      invokeRestart("muffleWarning")
    }
  )
  expect_identical(w$sites, "site2")
  expect_match(conditionMessage(w), "site2", fixed = TRUE)
  expect_match(conditionMessage(w), "object `D` does not exist (at encryption)", fixed = TRUE)
  expect_false(grepl("site1\" failed|site3\" failed|site4\" failed", conditionMessage(w)))
})

test_that("a site that fails at decryption keeps contributing, and three of the four decrypt", {
  conns <- federation("four")
  before <- ds.mheAudit(datasources = conns)
  restore <- break_site(conns, "site2", "mheDecryptDS")
  on.exit(restore())
  w <- expect_warning(result <- ds.mheMean("D$bmi", datasources = conns),
                      class = "dsMHE_warning_dropout")
  expect_match(conditionMessage(w), "connection to site2 lost (at decryption)", fixed = TRUE)
  all4 <- pooled(conns)
  expect_rel_equal(result$mean, mean(all4$bmi, na.rm = TRUE))
  expect_identical(result$n, sum(!is.na(all4$bmi)))
  expect_identical(attr(result, "sites"), names(conns))
  # the others decrypted the first query, then a fresh one over the same four
  # sites, decrypted by three
  audit <- ds.mheAudit(datasources = conns[c("site1", "site3", "site4")])
  new <- audit[!audit$query %in% before$query, ]
  expect_equal(nrow(new), 2L * 3L)
  expect_length(unique(new$query), 2L)
  expect_true(all(new$sites == "site1,site2,site3,site4"))
  expect_setequal(new$decryptors, c("site1,site2,site3,site4", "site1,site3,site4"))
})

test_that("a multi-round statistic restarts as a whole, so every round covers the same sites", {
  conns <- federation("four")
  calls <- 0L
  second_round <- function(expr) {
    calls <<- calls + 1L
    calls == 2L
  }
  restore <- break_site(conns, "site3", "mheDecryptDS", when = second_round)
  on.exit(restore())
  expect_warning(result <- ds.mheVar("D$sbp", datasources = conns), class = "dsMHE_warning_dropout")
  all4 <- pooled(conns)
  expect_rel_equal(result$var, stats::var(all4$sbp, na.rm = TRUE))
  expect_rel_equal(result$mean, mean(all4$sbp, na.rm = TRUE))
  expect_identical(attr(result, "sites"), names(conns))
})

test_that("a failure while agreeing on a table's levels, before any release, leaves the site out", {
  conns <- fresh_four()
  restore <- break_site(conns, "site4", "mheLevelsDS")
  on.exit(restore())
  expect_warning(result <- ds.mheTable("D$group", datasources = conns),
                 class = "dsMHE_warning_dropout")
  rest <- pooled_over(conns, c("site1", "site2", "site3"))
  expect_identical(as.vector(result$table), as.vector(table(rest$group)))
  expect_identical(attr(result, "sites"), c("site1", "site2", "site3"))
})

test_that("with fewer than t sites left the query stops with an error naming the failed sites", {
  conns <- federation("four")
  DSI::datashield.rm(conns[c("site2", "site3")], "D")
  on.exit(restore_table(conns, c("site2", "site3")))
  err <- expect_error(ds.mheMean("D$age", datasources = conns), class = "dsMHE_error_dropout")
  expect_identical(err$sites, c("site2", "site3"))
  expect_match(conditionMessage(err), "site2: object `D` does not exist", fixed = TRUE)
  expect_match(conditionMessage(err), "site3: object `D` does not exist", fixed = TRUE)
})

test_that("failures at decryption add up: one warning, then the error names both", {
  conns <- federation("four")
  restore3 <- break_site(conns, "site3", "mheDecryptDS")
  calls <- 0L
  restore4 <- break_site(conns, "site4", "mheDecryptDS", when = function(expr) {
    calls <<- calls + 1L
    calls >= 2L
  })
  on.exit({
    restore4()
    restore3()
  })
  warnings <- list()
  err <- withCallingHandlers(
    tryCatch(ds.mheMean("D$age", datasources = conns), error = function(e) e),
    dsMHE_warning_dropout = function(w) {
      warnings[[length(warnings) + 1L]] <<- w
      invokeRestart("muffleWarning")
    }
  )
  expect_s3_class(err, "dsMHE_error_dropout")
  expect_length(warnings, 1L)
  expect_identical(warnings[[1]]$sites, "site3")
  expect_identical(err$sites, c("site3", "site4"))
  expect_match(conditionMessage(err), "site4: connection to site4 lost (at decryption)", fixed = TRUE)
})

test_that("a refusal still stops a t-of-N query with the site's error", {
  conns <- federation("four")
  # valid ages: site1 129, site2 143, site3 160, site4 174; with nfilter.tab
  # 3, a histogram of 45 cells is finer than site1 accepts (43)
  refuse <- function() {
    ds.mheHistogram("D$age", breaks = seq(0, 100, length.out = 46), datasources = conns)
  }
  expect_no_warning(err <- tryCatch(refuse(), error = identity))
  expect_s3_class(err, "dsMHE_error_refused")
  expect_match(conditionMessage(err), "site1: refused: nfilter.tab", fixed = TRUE)
})

test_that("a failure of every site is reported as it is, not as a dropout", {
  conns <- federation("four")
  err <- expect_error(ds.mheMean("D$NOT_THERE", datasources = conns), class = "dsMHE_error_server")
  expect_false(inherits(err, "dsMHE_error_dropout"))
  expect_match(conditionMessage(err), "site4: `D` has no column `NOT_THERE`", fixed = TRUE)
})

test_that("a subset of the connections matches the session and runs over those sites", {
  conns <- fresh_four()
  sub <- conns[c("site1", "site3", "site4")]
  session <- dsMHE:::mhe_session_get(sub)
  expect_identical(session$sites, names(conns))
  expect_identical(session$threshold, 3L)
  result <- expect_no_warning(ds.mheMean("D$age", datasources = sub))
  expect_rel_equal(result$mean, mean(pooled_over(conns, names(sub))$age, na.rm = TRUE))
  expect_identical(attr(result, "sites"), names(sub))
  # below the threshold the sites refuse
  expect_error(ds.mheMean("D$bmi", datasources = conns[c("site1", "site2")]),
               class = "dsMHE_error_refused_below_min_parties")
})

test_that("an N-of-N session stops at any failure, as before", {
  conns <- federation("cnsim")
  DSI::datashield.rm(conns["sim2"], "D")
  on.exit(restore_table(conns, "sim2"))
  err <- expect_error(expect_no_warning(ds.mheMean("D$LAB_TSC", datasources = conns)),
                      class = "dsMHE_error_server")
  expect_false(inherits(err, "dsMHE_error_dropout"))
  expect_match(conditionMessage(err), "sim2: object `D` does not exist", fixed = TRUE)
  restore_table(conns, "sim2")
  still <- ds.mheMean("D$LAB_TSC", datasources = conns)
  expect_identical(attr(still, "sites"), names(conns))
  expect_rel_equal(still$mean, mean(pooled(conns)$LAB_TSC, na.rm = TRUE))
})

test_that("after the sites are back, queries cover all four again", {
  conns <- federation("four")
  result <- expect_no_warning(ds.mheMean("D$age", datasources = conns))
  expect_identical(attr(result, "sites"), names(conns))
  expect_rel_equal(result$mean, mean(pooled(conns)$age, na.rm = TRUE))
})
