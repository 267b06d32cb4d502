// The native platform's vTPM transport: the cvtpm serial link on COM2 (transport/serial_link.h;
// cvtpm-tpm-bridge on the host turns it into swtpm's socket interface), served forever by
// `handler` (the vTPM service through SVSM_VTPM_CMD: platform/native/vtpm_transport.h).
#pragma once

#include "console/port_io.h"
#include "transport/serial_channel.h"

namespace cvtpm::fw::native {

// `on_idle` (may be null) runs each time the link goes quiet after traffic, before the firmware
// halts to wait for more (main.cpp logs memory peaks there).
[[noreturn]] void serve_tpm_channel(console::PortIo& io, transport::TpmTransportHandler& handler,
                                    void (*on_idle)());

}  // namespace cvtpm::fw::native
