# Issue 13: what the analyst's ARGUMENTS can isolate. Each test reproduces a
# finding of the review (it failed on the code before the fix) and shows the
# site's rule: nothing plaintext is published, no argument isolates a row, no
# answer depends on one row (small cells are zeroed, never refused), and
# bounds are checked before anything is allocated. Data: helper-data-rows.R.

hex <- function(x) dsMHE:::mhe_dbl_encode(x)
b64 <- function(text) dsMHE:::rs_b64_encode(charToRaw(text))
all_sites <- function(conns) paste(names(conns), collapse = ",")

test_that("no plaintext method is declared, and one cannot be called through DSLite (finding 1)", {
  declared <- unlist(opal_declared(), use.names = FALSE)
  expect_true("mheMeanDS" %in% declared)
  expect_false(any(grepl("Plain", declared)))
  expect_false(exists("mhePlainSumDS", envir = asNamespace("dsMHE"), inherits = FALSE))
  expect_false(exists("mhePlainGLMDS", envir = asNamespace("dsMHE"), inherits = FALSE))
  conns <- unrecorded_login(rows_data()[1:2])
  on.exit(DSI::datashield.logout(conns))
  expect_error(DSI::datashield.aggregate(conns["r2"], call("mhePlainSumDS", "D$y", "mean")))
  expect_match(paste(unlist(DSI::datashield.errors()), collapse = "\n"),
               "does not allow expression: mhePlainSumDS")
})

test_that("a column built to carry one row's value says nothing about it (finding 4)", {
  conns <- rows_federation()
  # probe_a and probe_b differ only in the value row 7 holds (123.456 or
  # 654.321), plus 1e-300 * id in every row so that they do not look binary
  # the results name their variable; everything else must be the same
  released <- function(r) unclass(r)[setdiff(names(r), "variable")]
  a <- ds.mheMean("D$probe_a", datasources = conns)
  b <- ds.mheMean("D$probe_b", datasources = conns)
  expect_identical(released(a), released(b))
  expect_lt(abs(a$mean * a$n), 1e-6)
  expect_identical(a$n, 600L)
  expect_identical(released(ds.mheVar("D$probe_a", datasources = conns)),
                   released(ds.mheVar("D$probe_b", datasources = conns)))
  # the probe has no variance left: cov2cor() warns about its zero diagonal
  cor_a <- suppressWarnings(ds.mheCor(c("D$probe_a", "D$y"), datasources = conns))
  cor_b <- suppressWarnings(ds.mheCor(c("D$probe_b", "D$y"), datasources = conns))
  expect_identical(unname(cor_a$cov), unname(cor_b$cov))
  expect_identical(unname(cor_a$cov[1, ]), c(0, 0))
  breaks <- c(-1, 0.5, 1000)
  expect_identical(ds.mheHistogram("D$probe_a", breaks = breaks, datasources = conns)$counts,
                   ds.mheHistogram("D$probe_b", breaks = breaks, datasources = conns)$counts)
  # a well-spread column is used as it is: exact
  expect_rel_equal(ds.mheMean("D$y", datasources = conns)$mean, mean(pooled(conns)$y))
})

test_that("the effective rows of a column's deviation are not fooled by tiny perturbations", {
  spread <- dsMHE:::srv_spread
  id <- 1:200
  expect_lt(spread(123 * exp(-1e6 * (id - 7)^2) + 1e-300 * id), 1.01)
  expect_lt(spread(50 + 123 * (id == 7) + 1e-9 * id), 1.01)
  expect_equal(spread(as.numeric(id <= 2)), 2)
  expect_equal(spread(rep(4, 10)), 10)
  expect_gt(spread(stats::qnorm(ppoints(200))), 100)
  expect_identical(spread(c(1, Inf, 3)), 0)
})

test_that("the fast bound of the concentration rule decides as the exact rule on every column", {
  # srv_usable() skips the median when a lower bound already shows the spread;
  # it must keep or replace exactly the columns the exact rule keeps or replaces
  exact <- function(v) {
    nfilter <- dsMHE:::mhe_nfilter("nfilter.tab")
    if (length(v) < nfilter) return(numeric())
    med <- stats::median(v)
    if (dsMHE:::srv_spread(v, med) < nfilter) rep(med, length(v)) else v
  }
  id <- as.double(1:5000)
  columns <- list(
    normal = stats::qnorm(ppoints(5000)),
    shuffled = stats::qnorm(ppoints(5000))[order(sin(id))],
    sorted_skewed = sort(exp(stats::qnorm(ppoints(5000)) * 3)),
    huge = 1e300 * stats::qnorm(ppoints(5000)),
    with_inf = c(stats::qnorm(ppoints(4999)), Inf),
    constant = rep(7, 5000),
    small = c(1, 2, 3, 4),
    probe = 50 + 123 * (id == 7),
    tiny_tail = 123 * exp(-1e6 * (id - 7)^2) + 1e-300 * id,
    blocks = rep(c(0, 1e6), c(4990, 10)),
    halves = rep(c(-1, 1), each = 2500)
  )
  for (k in 1:6) columns[[paste0("ones_", k)]] <- as.numeric(id <= k)
  for (k in 1:6) columns[[paste0("outliers_", k)]] <- ifelse(id <= k, 1e9, 1 + id / 1e12)
  for (name in names(columns)) {
    expect_identical(dsMHE:::srv_usable(columns[[name]]), exact(columns[[name]]), label = name)
  }
  # the bound does the work on a spread column (no median needed)
  expect_true(dsMHE:::srv_surely_spread(columns$shuffled, 3))
  expect_false(dsMHE:::srv_surely_spread(columns$probe, 3))
})

test_that("the sums a mean or variance releases are those of the exact rule, bit for bit", {
  # srv_usable_sums() reads the column in place when the moments bound decides;
  # it must release the very numbers the exact rule's usable values give
  nfilter <- dsMHE:::mhe_nfilter("nfilter.tab")
  exact <- function(v) {
    if (length(v) < nfilter) return(numeric())
    med <- stats::median(v)
    if (dsMHE:::srv_spread(v, med) < nfilter) rep(med, length(v)) else v
  }
  reference <- function(v, centre) {
    u <- exact(v[!is.na(v)])
    if (is.null(centre)) list(n = length(u), sum = sum(u)) else
      list(n = length(u), ss = sum((u - centre)^2))
  }
  id <- as.double(1:5000)
  normal <- stats::qnorm(ppoints(5000))
  columns <- list(
    normal = normal[order(sin(id))],
    big_mean = 1e12 + normal * 1e-3,
    huge = 1e300 * normal,
    tiny = 1e-200 * normal,
    heavy = sign(normal) * exp(abs(normal) * 4),
    with_inf = c(normal[-1], Inf),
    with_nan = c(normal[-1], NaN),
    constant = rep(7, 5000),
    two = c(1, 2),
    three = c(1, 5, 9),
    all_na = rep(NA_real_, 10),
    probe = 50 + 123 * (id == 7),
    blocks = rep(c(0, 1e6), c(4990, 10))
  )
  for (k in 1:5) columns[[paste0("ones_", k)]] <- as.numeric(id <= k)
  for (name in names(columns)) {
    v <- columns[[name]]
    v[seq_along(v) %% 7L == 3L] <- NA
    columns[[paste0(name, "_na")]] <- v
  }
  for (name in names(columns)) {
    v <- columns[[name]]
    centres <- list(NULL, 0, mean(v, na.rm = TRUE), 1e8, NaN, Inf)
    for (centre in centres) {
      expect_identical(dsMHE:::srv_usable_sums(v, centre), reference(v, centre),
                       label = paste(name, format(centre)))
    }
  }
  # the bound decides a spread column, with missing values and with a centre...
  v <- columns$normal_na
  n <- sum(!is.na(v))
  q <- sum((v - 0.3)^2, na.rm = TRUE)
  expect_true(dsMHE:::srv_spread_by_moments(v, nfilter, n, q, sum(v, na.rm = TRUE), 0.3))
  expect_true(dsMHE:::srv_spread_by_moments(columns$normal, nfilter))
  # ...and never a column that spreads over fewer than nfilter.tab rows, even
  # with no rounding to spare: k ones among zeros spread over exactly k rows
  for (k in 1:6) {
    ones <- as.numeric(id <= k)
    expect_identical(dsMHE:::srv_spread(ones), as.double(k))
    expect_identical(dsMHE:::srv_spread_by_moments(ones, k), FALSE, label = paste(k, "ones"))
    for (centre in c(-1e8, 0.5, 1e8)) {
      q <- sum((ones - centre)^2)
      expect_false(dsMHE:::srv_spread_by_moments(ones, k, q = q, centre = centre))
    }
  }
  # nor one whose sums lost their digits (the values far from the centre)
  expect_false(dsMHE:::srv_spread_by_moments(columns$big_mean, nfilter))
  expect_false(dsMHE:::srv_spread_by_moments(columns$with_inf, nfilter))
})

test_that("a value outside the analyst's levels is counted as other, so no answer says whether a row holds it", {
  conns <- rows_federation()
  outcome <- function(expr) {
    tryCatch({
      res <- DSI::datashield.aggregate(conns, expr)
      if (all(vapply(res, is.raw, TRUE))) "answered" else res
    }, error = function(e) paste(unlist(DSI::datashield.errors()), collapse = "; "))
  }
  table_call <- function(x, levels) {
    call("mheTableDS", rvar = x, rlevels = dsMHE:::mhe_levels_encode(levels),
         query = dsMHE:::rs_random_id(), sites = all_sites(conns))
  }
  # the site's levels: the same answer whether row 7 holds 57, 58 or its own
  # code (the old code refused code57 and code58, answered code_plain)
  levels <- lapply(c("D$code_plain", "D$code57", "D$code58"), function(x) {
    DSI::datashield.aggregate(conns, call("mheLevelsDS", x))
  })
  expect_identical(levels[[2]], levels[[1]])
  expect_identical(levels[[3]], levels[[1]])
  expect_identical(levels[[1]]$r1$levels, c("1", "2", "3", "4"))
  # a level list that leaves out 57: answered for every variable, the same way
  # (the old code refused code57 only)
  answers <- vapply(c("D$code_plain", "D$code57", "D$code58"), function(x) {
    outcome(table_call(x, c("1", "2", "3", "4")))
  }, "")
  expect_identical(unname(answers), rep("answered", 3))
  # and the pooled tables of code57 and code58 are the same: row 7 is in a
  # zeroed "other" cell at r1, r2 and r3, which the table does not show
  a <- ds.mheTable("D$code57", datasources = conns)
  b <- ds.mheTable("D$code58", datasources = conns)
  expect_identical(as.vector(a$table), as.vector(b$table))
  expect_identical(unname(dimnames(a$table)), unname(dimnames(b$table)))
  expect_identical(dimnames(a$table)[[1]], c("1", "2", "3", "4"))
  expect_identical(a$Ntotal, b$Ntotal)
  # three values held once at each site: omitted from the levels, counted
  # together in the other cell (3 rows per site: kept), which the table shows
  r <- ds.mheTable("D$rare3", datasources = conns)
  expect_identical(dimnames(r$table)[[1]], c("1", "2", "3", "4", "(other)"))
  pooled_rare3 <- unlist(lapply(rows_data(), `[[`, "rare3"))
  expect_equal(as.vector(r$table[["(other)"]]), 9)
  expect_equal(as.vector(r$table[c("1", "2", "3", "4")]),
               as.vector(table(pooled_rare3[pooled_rare3 <= 4])))
})

test_that("a GLM cannot isolate a row through its formula or a built column (finding 4)", {
  conns <- rows_federation()
  text <- "I(y * exp(-1e6 * (id - 7)^2) + 1e-300 * id) ~ 1"
  err <- expect_error(ds.mheGLM(text, datasources = conns), class = "dsMHE_error_input")
  expect_match(conditionMessage(err), "I() in a formula takes only a power of one column", fixed = TRUE)
  for (site in names(conns)) {
    expect_refused(conns[site], call("mheGLMLevelsDS", b64(text), "D"),
                   paste0(site, ": refused: I\\(\\) in a formula takes only a power"))
  }
  err <- expect_error(ds.mheGLM(probe_a ~ 1, datasources = conns), class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), "r1: refused: nfilter.tab: the outcome concentrates on fewer than nfilter.tab")
  err <- expect_error(ds.mheGLM(y ~ age + probe_a, datasources = conns), class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), "the model matrix column `probe_a` concentrates")
})

test_that("an IRLS round whose working weights concentrate on one row is refused (finding 5)", {
  conns <- rows_federation()
  step <- function(beta) {
    call("mheGLMDS", formula = b64("status ~ id + income + age"), family = "binomial", data = "D",
         round = "step", beta = hex(beta), query = dsMHE:::rs_random_id(), sites = all_sites(conns))
  }
  # the working weight sits on the row with id 7 at every site
  errors <- expect_site_error(DSI::datashield.aggregate(conns, step(c(-7000, 1000, 0, 0))), conns,
                              "refused: nfilter.tab: the IRLS working weights at these coefficients concentrate")
  expect_named(errors, names(conns), ignore.order = TRUE)
  # coefficients near the fit spread the weights: the round is computed
  fit <- stats::glm(status ~ id + income + age, stats::binomial(), pooled(conns))
  blobs <- DSI::datashield.aggregate(conns, step(unname(stats::coef(fit))))
  expect_true(all(vapply(blobs, is.raw, TRUE)))
})

test_that("levels cannot select rows, and a small cell is zeroed so probes do not answer (finding 6)", {
  conns <- rows_federation()
  # levels naming one value of `id`: every site answers (the other rows are
  # counted as "other"); the cell of row 7's value is zeroed, so the table
  # of an id with that value is the table of an id without it
  expr <- call("mheTableDS", rvar = "D$id", rlevels = dsMHE:::mhe_levels_encode("7"),
               query = dsMHE:::rs_random_id(), sites = all_sites(conns))
  blobs <- DSI::datashield.aggregate(conns, expr)
  expect_true(all(vapply(blobs, is.raw, TRUE)))
  # the sex of one row, asked by crossing sex with an indicator of that row:
  # the indicator's cells are zeroed, so the answer is the same for a woman
  # (pick_f) and a man (pick_m)
  f <- ds.mheTable("D$sex", "D$pick_f", datasources = conns)
  m <- ds.mheTable("D$sex", "D$pick_m", datasources = conns)
  expect_identical(unname(f$table[, "yes"]), unname(m$table[, "yes"]))
  expect_true(all(f$table[, "yes"] == 0))
  expect_identical(f$Ntotal, m$Ntotal)
})

test_that("fine grids are bounded by the site and their small cells zeroed (finding 7)", {
  conns <- rows_federation()
  all <- pooled(conns)
  # 10,000 analyst breaks, or 1001 cells: refused before any data is read,
  # naming the limit
  histogram <- function(breaks) {
    call("mheHistogramDS", "D$y", breaks = hex(breaks), mode = "range",
         query = dsMHE:::rs_random_id(), sites = all_sites(conns))
  }
  expect_site_error(DSI::datashield.aggregate(conns, histogram(seq(0, 100, length.out = 10001))),
                    conns, "`breaks` must have at most 170000 characters")
  expect_site_error(DSI::datashield.aggregate(conns, histogram(seq(0, 100, length.out = 1002))),
                    conns, "a histogram has at most 1000 cells")
  # range mode cannot pin the pooled maximum: a cell holding one value is empty
  top <- max(all$y)
  v <- dsMHE:::mhe_query(conns, "mheHistogramDS", list("D$y", hex(c(top - 10, top - 1e-6, top + 1e-6)),
                                                      "range"))
  expect_identical(v[3], 0)
  # survival counts on a one-year grid of ages: no pooled count of 1 or 2
  v <- dsMHE:::mhe_query(conns, "mheSurvfitDS", list(
    time = "D$age", event = "D$event", grid = hex(20:80), coding = "01", mode = "counts"
  ))
  expect_true(all(v == 0 | v >= 3))
  exact <- table(cut(all$age[all$event == 1], c(-Inf, 20:80), right = TRUE))
  expect_true(any(exact %in% 1:2)) # the exact table would show small cells
  # a grid finer than the site's rows can fill is refused, naming the limit
  expr <- call("mheSurvfitDS", "D$age", "D$event", grid = hex(seq(20, 100, by = 0.5)),
               coding = "01", mode = "counts", query = dsMHE:::rs_random_id(),
               sites = all_sites(conns))
  expect_site_error(DSI::datashield.aggregate(conns, expr), conns,
                    "the survival grid has 161 cells; at most n / nfilter.tab = 66")
})

# Run `script` in a child R process with the test session's library paths
# under a virtual-memory limit (KB); returns its output lines.
run_limited <- function(script, memory_kb) {
  file <- tempfile(fileext = ".R")
  writeLines(script, file)
  on.exit(unlink(file))
  rscript <- file.path(R.home("bin"), "Rscript")
  command <- paste0("ulimit -v ", format(memory_kb, scientific = FALSE), " && exec ",
                    shQuote(rscript), " --vanilla ", shQuote(file), " 2>&1")
  withr_env <- Sys.getenv("R_LIBS", unset = NA)
  Sys.setenv(R_LIBS = paste(.libPaths(), collapse = .Platform$path.sep))
  on.exit(if (is.na(withr_env)) Sys.unsetenv("R_LIBS") else Sys.setenv(R_LIBS = withr_env), add = TRUE)
  suppressWarnings(system2("bash", c("-c", shQuote(command)), stdout = TRUE, stderr = TRUE))
}

test_that("malicious resource requests are refused by their named limit under a memory limit (finding 8)", {
  script <- '
suppressPackageStartupMessages(library(dsMHE))
session <- dsMHE:::rs_random_id()
parties <- lapply(c("a", "b"), function(site) {
  party <- dsMHE:::rs_party_new(site, session, "default")
  attr(party, "mhe_site") <- site
  party
})
roster <- dsMHE:::rs_roster_build(lapply(parties, dsMHE:::rs_party_identity))
shares <- lapply(parties, dsMHE:::rs_party_join, roster = roster, threshold = 0L,
                 min_parties = 2L, min_threshold = 0L, pinned = character(),
                 allow_unpinned = TRUE, audit_file = tempfile())
bundles <- dsMHE:::rs_keygen_bundles(shares)
evaluations <- Map(dsMHE:::rs_party_finalize, parties, bundles)
checked <- dsMHE:::rs_keygen_evaluations(shares, unname(evaluations))
invisible(lapply(parties, dsMHE:::rs_party_confirm, evaluations = checked))
env <- new.env()
env$mhe.party <- parties[[1]]
set.seed(1)
n <- 6000
D <- data.frame(x = rnorm(n), y = rnorm(n), f = factor(sample(c("u", "v"), n, TRUE)),
                g = factor(sample(c("p", "q"), n, TRUE)), time = rexp(n),
                event = rbinom(n, 1, 0.5),
                grp = factor(rep(paste0("g", 1:200), length.out = n), levels = paste0("g", 1:200)))
for (k in 1:60) D[[paste0("x", k)]] <- rnorm(n)
env$D <- D
b64 <- function(text) dsMHE:::rs_b64_encode(charToRaw(text))
run <- function(label, expr) {
  message <- tryCatch({ force(expr); "no error" }, error = function(e) conditionMessage(e))
  cat(label, ": ", gsub("[[:space:]]+", " ", message), "\\n", sep = "")
}
id <- function() dsMHE:::rs_random_id()
glm_round <- function(text) {
  call("mheGLMDS", b64(text), "gaussian", "D", query = id(), sites = "a,b")
}
formula <- paste0("y ~ (", paste0("I(x+", 1:60, ")", collapse = " + "), ")^10")
run("formula", eval(glm_round(formula), env))
wide <- paste0("x ~ (", paste0("x", 1:60, collapse = " + "), ")^3")
run("wide", eval(glm_round(wide), env))
run("table", eval(call("mheTableDS", "D$f", "D$g",
    rlevels = dsMHE:::mhe_levels_encode(paste0("l", 1:1000)),
    clevels = dsMHE:::mhe_levels_encode(paste0("m", 1:1000)), query = id(), sites = "a,b"), env))
run("survival", eval(call("mheSurvfitDS", "D$time", "D$event", group = "D$grp",
    levels = dsMHE:::mhe_levels_encode(paste0("g", 1:200)),
    grid = dsMHE:::mhe_dbl_encode(seq_len(10000)), coding = "01", mode = "counts",
    query = id(), sites = "a,b"), env))
cat("done\\n")
'
  out <- paste(run_limited(script, memory_kb = 3e6), collapse = "\n")
  expect_match(out, "formula: .*must be a whole number from 1 to 3")
  expect_match(out, "wide: .*expands to more than 200 terms")
  expect_match(out, "table: .*a table has at most 10000 cells")
  expect_match(out, "survival: .*a survival curve has at most 100 strata")
  expect_match(out, "done")
})
