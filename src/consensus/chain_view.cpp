// Anchor translation unit of the consensus layer (chain_view.h is an interface).
#include "consensus/chain_view.h"
