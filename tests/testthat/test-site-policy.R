# The site's own policy (issue 13, findings 2 and 3; issue 18, pinned by
# default): sets, thresholds, the durable ledger and the audit file are the
# site's, whatever the analyst asks. Each site's options are applied per call
# (helper-dslite.R), as separate Opal/Rock processes would have them.

cnsim_options <- function(...) {
  opts <- list(...)
  stats::setNames(rep(list(opts), 3L), c("sim1", "sim2", "sim3"))
}

test_that("a refusal's kind becomes its condition class, whatever the message says", {
  err <- structure(list(value = list(message = "anything at all", kind = "set_changed")),
                   class = "extendr_error")
  e <- expect_error(dsMHE:::rs_call(err, site = "siteA"), class = "dsMHE_error_refused_set_changed")
  expect_s3_class(e, "dsMHE_error_refused")
  expect_identical(conditionMessage(e), "siteA: refused: anything at all [set_changed]")
  plain <- structure(list(value = list(message = "refused: but not a refusal", kind = "")),
                     class = "extendr_error")
  e <- expect_error(dsMHE:::rs_call(plain), class = "dsMHE_error_crypto")
  expect_false(inherits(e, "dsMHE_error_refused"))
})

test_that("a site refuses an unpinned roster unless its admin allows it", {
  conns <- fresh_federation(setup = FALSE,
                            options = list(sim2 = list(mhe.allow.unpinned = NULL)))
  err <- expect_error(ds.mheSetup(conns), class = "dsMHE_error_refused_unpinned")
  expect_match(conditionMessage(err), "sim2: refused: this site's admin pinned no peers", fixed = TRUE)
  expect_match(conditionMessage(err), "[unpinned]", fixed = TRUE)
  expect_match(conditionMessage(err), "mhe.allow.unpinned", fixed = TRUE)
})

test_that("a threshold of 2 after a 3-site setup is refused without the admin's minimum", {
  conns <- fresh_federation(setup = FALSE)
  err <- expect_error(ds.mheSetup(conns, threshold = 2),
                      class = "dsMHE_error_refused_threshold_below_minimum")
  expect_setequal(err$sites, names(conns))
  # with an admin minimum of 3, a threshold of 2 is still refused
  conns <- fresh_federation(setup = FALSE, options = cnsim_options(mhe.min.threshold = 3L))
  expect_error(ds.mheSetup(conns, threshold = 2),
               class = "dsMHE_error_refused_threshold_below_minimum")
})

test_that("a variable released over three sites is refused over two, also after a new setup", {
  conns <- fresh_federation(options = cnsim_options(mhe.min.threshold = 2L), threshold = 2)
  all3 <- ds.mheMean("D$LAB_TSC", datasources = conns)
  expect_rel_equal(all3$mean, mean(pooled(conns)$LAB_TSC, na.rm = TRUE))
  pair <- conns[c("sim1", "sim2")]
  err <- expect_error(ds.mheMean("D$LAB_TSC", datasources = pair),
                      class = "dsMHE_error_refused_set_changed")
  expect_match(conditionMessage(err), "D$LAB_TSC was released by this site over the sites sim1,sim2,sim3",
               fixed = TRUE)
  # in any statistic: a pooled variance over the pair would give its sum and n
  expect_error(ds.mheVar("D$LAB_TSC", datasources = pair),
               class = "dsMHE_error_refused_set_changed")
  # a new setup erases nothing: the ledger lives in each site's audit file
  suppressWarnings(ds.mheSetup(conns, threshold = 2))
  expect_error(ds.mheMean("D$LAB_TSC", datasources = pair),
               class = "dsMHE_error_refused_set_changed")
  # another variable may go over the pair, and is then tied to it
  got <- ds.mheMean("D$LAB_HDL", datasources = pair)
  expect_rel_equal(got$mean, mean(pooled_over(conns, names(pair))$LAB_HDL, na.rm = TRUE))
  expect_error(ds.mheMean("D$LAB_HDL", datasources = conns),
               class = "dsMHE_error_refused_set_changed")
})

test_that("audit lines survive a second setup and ds.mheClose()", {
  conns <- fresh_federation()
  ds.mheMean("D$LAB_TSC", datasources = conns)
  path <- site_audit_file(conns, "sim1")
  before <- mheAuditRead(path)
  expect_identical(before$event, c("contribution", "decryption"))
  expect_true(all(before$site == "sim1"))
  expect_true(all(before$sites == "sim1,sim2,sim3"))
  expect_true(all(before$variables == "D$LAB_TSC"))
  expect_match(before$call[1], "mheMeanDS", fixed = TRUE)
  expect_identical(before$decryptors[2], "sim1,sim2,sim3")
  expect_identical(unname(file.info(path)$mode), as.octmode("600"))
  expect_identical(unname(file.info(dirname(path))$mode & as.octmode("077")), as.octmode("000"))
  suppressWarnings(ds.mheSetup(conns))
  ds.mheClose(datasources = conns)
  after <- mheAuditRead(path)
  expect_identical(after[seq_len(nrow(before)), ], before)
  # the analyst's view shows the current session only
  suppressWarnings(ds.mheSetup(conns))
  expect_equal(nrow(ds.mheAudit(datasources = conns)), 0L)
})

test_that("nothing leaves a site whose audit file cannot be written", {
  blocked <- tempfile("audit-dir-")
  dir.create(blocked)
  conns <- fresh_federation(options = list(sim2 = list(mhe.audit.file = blocked)))
  err <- expect_error(ds.mheMean("D$LAB_TSC", datasources = conns),
                      class = "dsMHE_error_refused_audit")
  expect_identical(err$sites, "sim2")
  expect_match(conditionMessage(err), "nothing leaves this site without a record", fixed = TRUE)
})

test_that("a corrupt audit file is an error naming its line, never a crash", {
  path <- tempfile("audit-")
  writeLines(c("v1\tnot a record"), path)
  expect_error(mheAuditRead(path), "line 1", class = "dsMHE_error_refused_audit")
  expect_equal(nrow(mheAuditRead(tempfile())), 0L)
})

key_file_options <- function(sites, pin = TRUE, same_key = FALSE) {
  dir <- tempfile("mhe-keys-")
  dir.create(dir, mode = "0700")
  paths <- file.path(dir, paste0(sites, ".key"))
  fps <- vapply(paths, mheKeyCreate, "", USE.NAMES = FALSE)
  if (same_key) paths[2] <- paths[1]
  opts <- lapply(seq_along(sites), function(i) {
    o <- list(mhe.key.file = paths[i])
    if (pin) o <- c(o, list(mhe.peers = paste(fps[-i], collapse = ","), mhe.allow.unpinned = NULL))
    o
  })
  names(opts) <- sites
  attr(opts, "fingerprints") <- fps
  opts
}

test_that("with real pins every site joins, and every query covers the whole roster", {
  opts <- key_file_options(c("sim1", "sim2", "sim3"))
  opts <- lapply(opts, function(o) c(o, list(mhe.min.threshold = 2L)))
  conns <- fresh_federation(setup = FALSE, options = opts)
  session <- expect_no_warning(ds.mheSetup(conns, threshold = 2))
  expect_true(all(session$pinned))
  got <- ds.mheMean("D$LAB_TSC", datasources = conns)
  expect_rel_equal(got$mean, mean(pooled(conns)$LAB_TSC, na.rm = TRUE))
  expect_error(ds.mheMean("D$LAB_HDL", datasources = conns[c("sim1", "sim2")]),
               class = "dsMHE_error_refused_set_not_whole_roster")
  # pinned members are known in the ledger by their long-term keys
  log <- mheAuditRead(site_audit_file(conns, "sim1"))
  expect_true(all(nchar(log$site) == 32L))
  expect_true(all(nchar(strsplit(log$sites[1], ",")[[1]]) == 32L))
  # so a new session of the same pinned sites is the same set: the variable
  # can be released again over it
  expect_no_warning(ds.mheSetup(conns, threshold = 2))
  again <- ds.mheMean("D$LAB_TSC", datasources = conns)
  expect_rel_equal(again$mean, got$mean)
})

test_that("a roster that is not exactly the pinned peers is refused", {
  opts <- key_file_options(c("sim1", "sim2", "sim3"))
  # sim3 pins only sim1: sim2 is a member nobody told it about
  opts$sim3$mhe.peers <- strsplit(opts$sim3$mhe.peers, ",")[[1]][1]
  conns <- fresh_federation(setup = FALSE, options = opts)
  err <- expect_error(ds.mheSetup(conns), class = "dsMHE_error_refused_pin_mismatch")
  expect_identical(err$sites, "sim3")
})

test_that("one site logged in twice with its long-term key is refused", {
  opts <- key_file_options(c("sim1", "sim2", "sim3"), pin = FALSE, same_key = TRUE)
  conns <- fresh_federation(setup = FALSE, options = opts)
  expect_error(ds.mheSetup(conns), class = "dsMHE_error_refused_duplicate_member")
})

test_that("the policy options are checked, and the audit file defaults to the user's data directory", {
  old <- options(mhe.audit.file = NULL, mhe.min.threshold = NULL, mhe.allow.unpinned = NULL)
  on.exit(options(old))
  expect_identical(dsMHE:::mhe_audit_file("siteA"),
                   file.path(tools::R_user_dir("dsMHE", "data"), "audit.log"))
  expect_identical(dsMHE:::mhe_min_threshold("siteA"), -1L)
  expect_false(dsMHE:::mhe_allow_unpinned())
  # as a server profile may set them, from text
  options(mhe.min.threshold = "3", mhe.allow.unpinned = "TRUE")
  expect_identical(dsMHE:::mhe_min_threshold("siteA"), 3L)
  expect_true(dsMHE:::mhe_allow_unpinned())
  options(mhe.allow.unpinned = "yes")
  expect_false(dsMHE:::mhe_allow_unpinned())
  options(mhe.min.threshold = 1, mhe.audit.file = "")
  expect_error(dsMHE:::mhe_min_threshold("siteA"), "siteA: the server option `mhe.min.threshold`",
               class = "dsMHE_error_input")
  expect_error(dsMHE:::mhe_audit_file("siteA"), "siteA: the server option `mhe.audit.file`",
               class = "dsMHE_error_input")
})
