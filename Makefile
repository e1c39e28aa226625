# cdp — PGXS build. See docs/layout.md for how the tree maps onto PGXS.
EXTENSION  = cdp
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = cdp
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# Install SQL: one file per concern, concatenated in file-name order.
INSTALL_SQL = $(sort $(wildcard sql/install/*.sql))
DATA_built  = cdp--$(EXTVERSION).sql
DATA        = $(wildcard sql/upgrade/cdp--*--*.sql)

# pg_regress: sql/NAME.sql -> expected/NAME.out, on a private preloaded cluster.
REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --temp-config=test/cdp.conf --temp-instance=tmp_check

# Isolation specs: test/specs/NAME.spec -> test/expected/NAME.out.
ISOLATION      = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --outputdir=output_iso \
                 --temp-config=test/cdp.conf --temp-instance=tmp_check_iso \
                 --load-extension=pgcrypto --load-extension=pg_partman --load-extension=cdp

EXTRA_CLEAN = tmp_check tmp_check_iso output_iso results regression.diffs regression.out

PG_CFLAGS = -std=gnu99 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
            -Wno-sign-compare -Wno-cast-function-type

# JIT bitcode would need clang at build time; cdp gains nothing from it.
override with_llvm := no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: rebuild every object when any header changes.
$(OBJS): $(wildcard src/*.h)

$(DATA_built): $(INSTALL_SQL) $(EXTENSION).control
	cat $(INSTALL_SQL) > $@

.PHONY: print-version
print-version:
	@echo $(EXTVERSION)
