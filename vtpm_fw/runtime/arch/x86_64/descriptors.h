// GDT task-state segment and IDT: every one of the 32 exception vectors runs on an IST stack
// (libtpms and libcrypto use the red zone below RSP, which an exception frame pushed on the
// current stack would overwrite; and a fault on an overflowing stack needs a good stack).
#pragma once

namespace cvtpm::fw::x86 {

void install_descriptor_tables();

// IST index (1..7) each exception vector uses.
int ist_for_vector(int vector);

}  // namespace cvtpm::fw::x86
