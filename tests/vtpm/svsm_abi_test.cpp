// The SVSM wire structs against byte layouts written out independently from the guest drivers
// (Linux asm/sev.h and tpm_svsm.h, OVMF Svsm.h) and the specification's tables.
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/formats/snp/attestation_report.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "vtpm_testing.h"

namespace cvtpm::vtpm {
namespace {

using testing::Bytes;
using testing::ByteWriter;

template <typename T>
Bytes bytes_of(const T& value) {
  Bytes b(sizeof(T));
  std::memcpy(b.data(), &value, sizeof(T));
  return b;
}

TEST(SvsmAbi, CallNumbersMatchLinuxMacros) {
  // SVSM_CORE_CALL(x) ((0ULL << 32) | (x)), SVSM_ATTEST_CALL, SVSM_VTPM_CALL.
  EXPECT_EQ(call_rax(Protocol::kCore, core_call::kQueryProtocol), 6u);
  EXPECT_EQ(call_rax(Protocol::kAttestation, attest_call::kSingleService), 0x1'0000'0001u);
  EXPECT_EQ(call_rax(Protocol::kVtpm, vtpm_call::kCmd), 0x2'0000'0001u);
  EXPECT_EQ(core_call::kRemapCa, 0u);
  EXPECT_EQ(core_call::kPvalidate, 1u);
  EXPECT_EQ(core_call::kCreateVcpu, 2u);
  EXPECT_EQ(core_call::kDeleteVcpu, 3u);
  EXPECT_EQ(core_call::kConfigureVtom, 7u);
}

TEST(SvsmAbi, ResultCodesMatchTheSpecification) {
  EXPECT_EQ(static_cast<std::uint64_t>(SvsmResult::kIncomplete), 0x80000000u);
  EXPECT_EQ(static_cast<std::uint64_t>(SvsmResult::kUnsupportedProtocol), 0x80000001u);
  EXPECT_EQ(static_cast<std::uint64_t>(SvsmResult::kUnsupportedCall), 0x80000002u);
  EXPECT_EQ(static_cast<std::uint64_t>(SvsmResult::kInvalidAddress), 0x80000003u);
  EXPECT_EQ(static_cast<std::uint64_t>(SvsmResult::kInvalidFormat), 0x80000004u);
  EXPECT_EQ(static_cast<std::uint64_t>(SvsmResult::kInvalidParameter), 0x80000005u);
  EXPECT_EQ(static_cast<std::uint64_t>(SvsmResult::kInvalidRequest), 0x80000006u);
  EXPECT_EQ(static_cast<std::uint64_t>(SvsmResult::kBusy), 0x80000007u);
  EXPECT_EQ(static_cast<std::uint64_t>(SvsmResult::kPvalidateFailInput), 0x80001001u);
  EXPECT_EQ(static_cast<std::uint64_t>(SvsmResult::kPvalidateFailSizeMismatch), 0x80001006u);
  EXPECT_EQ(static_cast<std::uint64_t>(SvsmResult::kPvalidateFailNoChange), 0x80001010u);
}

TEST(SvsmAbi, SendCommandRequestIsPackedLittleEndian) {
  // struct svsm_vtpm_cmd_request { u32 cmd; u8 locality; u32 buf_size; u8 buf[]; } __packed
  const TpmSendCommandRequest request{8, 0, 0x0102'0304};
  const Bytes expected = ByteWriter().le32(8).u8(0).le32(0x0102'0304).bytes();
  EXPECT_EQ(bytes_of(request), expected);
  EXPECT_EQ(kMaxTpmCommandSize, 4096u - 9u);
  EXPECT_EQ(kMaxTpmResponseSize, 4096u - 4u);
  EXPECT_EQ(kSupportedPlatformCommands, 0x100u);
}

TEST(SvsmAbi, AttestOperationMatchesLinuxSvsmAttestCall) {
  // struct svsm_loc_entry { u64 pa; u32 len; u8 rsvd[4]; } x4, u8 service_guid[16],
  // u32 service_manifest_ver, u8 rsvd[4].
  AttestSingleServiceOp op{};
  op.common.report = {0x1000, 0x2000, 0};
  op.common.nonce = {0x3000, 64, {}};
  op.common.manifest = {0x4000, 0x5000, 0};
  op.common.certificates = {0x6000, 0x7000, 0};
  op.service_guid = kVtpmServiceGuid;
  op.manifest_version = 9;
  const Bytes expected = ByteWriter()
                             .le64(0x1000)
                             .le32(0x2000)
                             .le32(0)
                             .le64(0x3000)
                             .le32(64)
                             .le32(0)
                             .le64(0x4000)
                             .le32(0x5000)
                             .le32(0)
                             .le64(0x6000)
                             .le32(0x7000)
                             .le32(0)
                             .hex("ebf176c4 2301 a545 9641 b4e7dde5bfe3")
                             .le32(9)
                             .le32(0)
                             .bytes();
  EXPECT_EQ(bytes_of(op), expected);
}

TEST(SvsmAbi, GuidsUseUefiByteOrder) {
  EXPECT_EQ(Bytes(kServicesManifestGuid.bytes, kServicesManifestGuid.bytes + 16),
            testing::from_hex("bb9e8463 923d 7046 a1ff 58f9c94b87bb"));
  EXPECT_EQ(Bytes(kVtpmServiceGuid.bytes, kVtpmServiceGuid.bytes + 16),
            testing::from_hex("ebf176c4 2301 a545 9641 b4e7dde5bfe3"));
}

TEST(SvsmAbi, PvalidateEntryBits) {
  // Linux struct svsm_pvalidate_entry: page_size:2, action:1, ignore_cf:1, rsvd:8, pfn:52.
  const std::uint64_t entry = (0x12345ull << 12) | (1u << 3) | (1u << 2) | 1u;
  EXPECT_EQ(entry & pvalidate_entry::kPageSizeMask, pvalidate_entry::kPageSize2M);
  EXPECT_NE(entry & pvalidate_entry::kValidate, 0u);
  EXPECT_NE(entry & pvalidate_entry::kIgnoreCf, 0u);
  EXPECT_EQ(entry & pvalidate_entry::kReservedMask, 0u);
  EXPECT_EQ(entry & pvalidate_entry::kGfnMask, 0x12345000u);
  const PvalidateRequestHeader header{510, 7, 0};
  EXPECT_EQ(bytes_of(header), ByteWriter().le16(510).le16(7).le32(0).bytes());
}

TEST(SvsmAbi, AttestationReportOffsetsMatchTheSnpAbi) {
  formats::snp::AttestationReport report{};
  report.report_data[0] = 0xAA;
  report.measurement[0] = 0xBB;
  report.signature.r[0] = 0xCC;
  const Bytes b = bytes_of(report);
  EXPECT_EQ(b.size(), 0x4A0u);
  EXPECT_EQ(b[0x50], 0xAA);
  EXPECT_EQ(b[0x90], 0xBB);
  EXPECT_EQ(b[0x2A0], 0xCC);
  EXPECT_EQ(formats::snp::kReportSignedBytes, 0x2A0u);
}

}  // namespace
}  // namespace cvtpm::vtpm
