// The one way zonefile/ includes ldns. Without HAVE_STDBOOL_H, ldns/common.h defines bool,
// true and false as macros in C++ ("false" becomes 0 and breaks <optional>'s operator<=>);
// <stdbool.h> first defines __bool_true_false_are_defined, which skips that block.
#pragma once

// The order matters, so clang-format must not sort these two.
// clang-format off
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)
#include <ldns/ldns.h>
// clang-format on
