# The progress bar of ds.mheSetup().

setup_messages <- function(expr) {
  lines <- character()
  withCallingHandlers(expr, message = function(m) {
    lines <<- c(lines, conditionMessage(m))
    invokeRestart("muffleMessage")
  })
  lines
}

test_that("setup shows a progress bar over its steps and sites", {
  conns <- fresh_federation(setup = FALSE)
  withr_opts <- options(cli.progress_show_after = 0, cli.dynamic = FALSE,
                        cli.progress_handlers_only = "cli", cli.width = 200)
  on.exit(options(withr_opts), add = TRUE)
  lines <- setup_messages(suppressWarnings(ds.mheSetup(conns, progress = TRUE)))
  bar <- grep("dsMHE setup", lines, value = TRUE)
  expect_gt(length(bar), 0L)
  # six steps, whatever the number of sites (cli throttles updates: not every
  # step prints)
  expect_true(all(grepl("[0-9]/6 ", bar)))
  expect_match(bar[1], "0/6 creating the parties at the sites", fixed = TRUE)
  expect_match(bar[length(bar)], "5/6 the sites check the collective key", fixed = TRUE)
  expect_rel_equal(ds.mheMean("D$LAB_TSC", datasources = conns)$mean,
                   mean(pooled(conns)$LAB_TSC, na.rm = TRUE))
})

test_that("setup is quiet with progress = FALSE and by default under datashield.progress = FALSE", {
  conns <- fresh_federation(setup = FALSE)
  old <- options(cli.progress_show_after = 0, cli.dynamic = FALSE,
                 cli.progress_handlers_only = "cli", datashield.progress = FALSE)
  on.exit(options(old), add = TRUE)
  expect_false(any(grepl("dsMHE setup", setup_messages(suppressWarnings(ds.mheSetup(conns, progress = FALSE))))))
  expect_false(any(grepl("dsMHE setup", setup_messages(suppressWarnings(ds.mheSetup(conns))))))
  expect_error(ds.mheSetup(conns, progress = NA), class = "dsMHE_error_input")
})
