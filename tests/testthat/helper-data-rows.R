# A federation for the row-isolation tests (issue 13): three sites of 200
# rows, each with an `id`, columns a malicious analyst could have built with
# dsBase's assign methods to isolate one row, and factor-coded variables as
# Opal assigns them. Deterministic.

rows_data <- function() {
  old <- .Random.seed_save()
  on.exit(.Random.seed_restore(old))
  set.seed(20261203)
  data <- lapply(1:3, function(s) {
    n <- 200L
    # times on a grid of 10 points, 20 rows each; in each block of 20 rows
    # the first 12, 10 or 14 (by site) are events, and arm2 alternates: every
    # cell (time x event x arm2) holds at least 3 rows at every site
    tgrid <- rep(seq(30, 300, 30), each = 20L)
    ev_big <- rep(as.integer(seq_len(20L) <= c(12L, 10L, 14L)[s]), 10L)
    arm2 <- rep(c("a", "b"), n / 2L)
    id <- seq_len(n)
    age <- sample(20:80, n, TRUE)
    income <- round(rlnorm(n, 10, 0.5))
    sex <- factor(sample(c("F", "M"), n, TRUE), levels = c("F", "M"))
    status <- as.integer(runif(n) < plogis(-2 + 0.03 * age))
    y <- round(rnorm(n, 50, 10), 2)
    # the value a row-isolating column carries, and that column plus a tiny
    # perturbation of every row (so it does not look binary)
    probe <- function(value) {
      yy <- y
      yy[7] <- value
      yy * exp(-1e6 * (id - 7)^2) + 1e-300 * id
    }
    # an indicator of one row, built for a yes/no question about that row
    pick <- function(row) factor(ifelse(id == row, "yes", "no"), levels = c("no", "yes"))
    time <- round(rexp(n, 1 / 300)) + 1
    event <- as.integer(runif(n) < 0.6)
    d <- data.frame(
      id, age, income, sex, status, y,
      probe_a = probe(123.456), probe_b = probe(654.321),
      pick_f = pick(which(sex == "F")[1]), pick_m = pick(which(sex == "M")[1]),
      time, event,
      event_f01 = factor(event, levels = 0:1),
      event_f12 = factor(event + 1L, levels = 1:2),
      status_f12 = factor(status + 1L, levels = 1:2),
      tgrid, ev_big, arm2,
      sep50 = as.integer(age > 50), # perfectly separated by age
      ev_big_f01 = factor(ev_big, levels = 0:1),
      ev_big_f12 = factor(ev_big + 1L, levels = 1:2),
      coded = factor(sample(c("0", "1"), n, TRUE), levels = c("0", "1")),
      grp = sample(c("a", "b"), n, TRUE)
    )
    # whole-number codes 1-4 (50 rows each, no random draw); row 7 holds 57
    # or 58 in code57 and code58, a value no level list names, and its own
    # code in code_plain; rows 5-7 hold three values held once in rare3
    code <- rep(1:4, length.out = n)
    d$code_plain <- code
    d$code57 <- replace(code, 7L, 57L)
    d$code58 <- replace(code, 7L, 58L)
    d$rare3 <- replace(code, 5:7, 101:103)
    d$sex[c(3, 11)] <- NA
    d
  })
  names(data) <- c("r1", "r2", "r3")
  data
}

rows_federation <- function() {
  if (!exists("rows_setup", envir = federations)) {
    assign("rows_setup", fresh_federation(rows_data()), envir = federations)
  }
  get("rows_setup", envir = federations)
}

# Zero each count 0 < count < nfilter, as a site does.
zero_small <- function(counts, nfilter = 3) {
  counts[counts > 0 & counts < nfilter] <- 0
  counts
}

# The plaintext GLM baseline of the benchmark, which the package does not
# declare (issue 13, finding 1): registered here, as inst/bench/bench-r.R
# does, in the federation's own DSLite configuration, as a script method
# over the same local aggregate code as mheGLMDS().
plain_glm_method <- function(formula, family, data, weights = NULL, offset = NULL,
                             levels = NULL, round = "init", model = "full", beta = NULL,
                             start = NULL, wtdmu = NULL) {
  dsMHE:::srv_glm_site_values(parent.frame(), "this site", formula, family, data, weights, offset,
                          levels, round, model, beta, start, wtdmu)$values
}

with_script_method <- function(config, name, fun) {
  methods <- config$AggregateMethods
  row <- methods[1L, , drop = FALSE]
  row$name <- name
  row$value <- paste(deparse(fun), collapse = "\n")
  row$package <- NA
  row$version <- NA
  row$class <- "script"
  config$AggregateMethods <- rbind(methods, row)
  config
}

# Log in to one DSLite server per site with `configure(config)` as its
# configuration. These servers are not recorded for the Opal-rules check
# (helper-opal-rules.R): they serve methods the package does not declare.
unrecorded_login <- function(data, configure = identity) {
  servers <- new.env(parent = emptyenv())
  builder <- DSI::newDSLoginBuilder()
  for (site in names(data)) {
    config <- configure(DSLite::defaultDSConfiguration(include = "dsMHE"))
    server <- DSLite::newDSLiteServer(tables = list(D = data[[site]]), config = config)
    assign(paste0("dslite_", site), server, envir = servers)
    builder$append(server = site, url = paste0("dslite_", site), table = "D",
                   driver = "DSLiteDriver")
  }
  old <- options(datashield.env = servers)
  on.exit(options(old))
  conns <- suppressMessages(DSI::datashield.login(builder$build(), assign = TRUE, symbol = "D"))
  attr(conns, "servers") <- servers
  attr(conns, "data") <- data
  conns
}

plain_glm_federation <- function() {
  if (!exists("plain_glm", envir = federations)) {
    conns <- unrecorded_login(cnsim_data(), function(config) {
      with_script_method(config, "mhePlainGLMDS", plain_glm_method)
    })
    suppressWarnings(ds.mheSetup(conns))
    assign("plain_glm", conns, envir = federations)
  }
  get("plain_glm", envir = federations)
}
