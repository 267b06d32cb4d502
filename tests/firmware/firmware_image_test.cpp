// The build products next to cvtpm-fw.elf, checked independently of the build: the ELF honours
// the boot contract (linked at boot::kFirmwareBase, inside the firmware region, entry at the
// 32-bit entry, a PVH note pointing at the PVH stub, no writable+executable segment), the
// stripped copy loads the same bytes, the manifest records the Debian packages dpkg reports and
// the files' real digests, and the map shows the TPM 1.2 half of libtpms and the trimmed parts of
// libcrypto left out and the vTPM core linked in.
#include <gtest/gtest.h>

#include <elf.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/files.h"
#include "libcrypto/libtpms_algorithms.h"
#include "process.h"

namespace cvtpm::fw {
namespace {

namespace boot = formats::boot;

std::string bin(const std::string& name) {
  return std::string(CVTPM_BIN_DIR) + "/" + name;
}

std::vector<std::uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f), {});
}

template <typename T>
T at(const std::vector<std::uint8_t>& bytes, std::size_t offset) {
  T value;
  EXPECT_LE(offset + sizeof(T), bytes.size());
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

std::uint64_t symbol(const std::string& name) {
  const auto r = cvtpm::run_process({"nm", bin("cvtpm-fw.elf")});
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string address, type, sym;
    if (fields >> address >> type >> sym && sym == name) return std::stoull(address, nullptr, 16);
  }
  ADD_FAILURE() << "symbol " << name << " not in cvtpm-fw.elf";
  return 0;
}

std::vector<Elf64_Phdr> program_headers(const std::vector<std::uint8_t>& elf) {
  const auto eh = at<Elf64_Ehdr>(elf, 0);
  std::vector<Elf64_Phdr> out;
  for (int i = 0; i < eh.e_phnum; ++i)
    out.push_back(at<Elf64_Phdr>(elf, eh.e_phoff + i * eh.e_phentsize));
  return out;
}

TEST(FirmwareImage, ElfHonoursTheBootContract) {
  const auto elf = read_all(bin("cvtpm-fw.elf"));
  ASSERT_GT(elf.size(), sizeof(Elf64_Ehdr)) << "build cvtpm-fw first";
  const auto eh = at<Elf64_Ehdr>(elf, 0);
  ASSERT_EQ(std::memcmp(eh.e_ident, ELFMAG, SELFMAG), 0);
  EXPECT_EQ(eh.e_ident[EI_CLASS], ELFCLASS64);
  EXPECT_EQ(eh.e_type, ET_EXEC);  // static, not PIE
  EXPECT_EQ(eh.e_machine, EM_X86_64);
  EXPECT_EQ(eh.e_entry, symbol("fw_entry32"));

  bool first = true;
  int loads = 0;
  for (const Elf64_Phdr& ph : program_headers(elf)) {
    if (ph.p_type == PT_LOAD) {
      ++loads;
      if (first) {
        EXPECT_EQ(ph.p_vaddr, boot::kFirmwareBase);
      }
      first = false;
      EXPECT_EQ(ph.p_vaddr, ph.p_paddr);
      EXPECT_EQ(ph.p_vaddr % 4096, 0u);
      EXPECT_GE(ph.p_vaddr, boot::kFirmwareBase);
      EXPECT_LE(ph.p_vaddr + ph.p_memsz, boot::kFirmwareBase + boot::kFirmwareRegionSize);
      EXPECT_FALSE((ph.p_flags & PF_W) && (ph.p_flags & PF_X)) << "W+X segment at " << ph.p_vaddr;
    }
    if (ph.p_type == PT_NOTE) {
      // namesz 4, descsz 8, type 18 (XEN_ELFNOTE_PHYS32_ENTRY), "Xen\0", u64 entry.
      ASSERT_GE(ph.p_filesz, 24u);
      EXPECT_EQ(at<std::uint32_t>(elf, ph.p_offset), 4u);
      EXPECT_EQ(at<std::uint32_t>(elf, ph.p_offset + 4), 8u);
      EXPECT_EQ(at<std::uint32_t>(elf, ph.p_offset + 8), 18u);
      EXPECT_EQ(std::memcmp(elf.data() + ph.p_offset + 12, "Xen", 4), 0);
      EXPECT_EQ(at<std::uint64_t>(elf, ph.p_offset + 16), symbol("fw_pvh_entry"));
    }
  }
  EXPECT_EQ(loads, 3);  // text, rodata, data
}

TEST(FirmwareImage, StrippedCopyLoadsTheSameBytes) {
  const auto elf = read_all(bin("cvtpm-fw.elf"));
  const auto stripped = read_all(bin("cvtpm-fw-stripped.elf"));
  ASSERT_FALSE(stripped.empty());
  EXPECT_LT(stripped.size(), elf.size());
  const auto a = program_headers(elf);
  const auto b = program_headers(stripped);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].p_type != PT_LOAD) continue;
    EXPECT_EQ(a[i].p_vaddr, b[i].p_vaddr);
    EXPECT_EQ(a[i].p_memsz, b[i].p_memsz);
    ASSERT_EQ(a[i].p_filesz, b[i].p_filesz);
    EXPECT_EQ(
        std::memcmp(elf.data() + a[i].p_offset, stripped.data() + b[i].p_offset, a[i].p_filesz), 0);
  }
  EXPECT_EQ(read_all(bin("cvtpm-fw-stripped.elf")).size(),
            static_cast<std::size_t>(std::filesystem::file_size(bin("cvtpm-fw-stripped.elf"))));
}

std::string dpkg_version(const std::string& package) {
  return cvtpm::run_process({"dpkg-query", "-W", "-f=${Version}", package}).out;
}

TEST(FirmwareImage, ManifestRecordsPackagesAndDigests) {
  std::ifstream f(bin("cvtpm-fw.manifest.json"));
  ASSERT_TRUE(f) << "no manifest next to the ELF";
  const auto manifest = nlohmann::json::parse(f);
  for (const char* p : {"libtpms-dev", "libtpms0", "libssl-dev"}) {
    const std::string expected = dpkg_version(p);
    ASSERT_FALSE(expected.empty()) << p;
    EXPECT_EQ(manifest["packages"][p], expected) << p;
  }
  EXPECT_EQ(manifest["elf"]["sha256"], to_hex(sha256(read_all(bin("cvtpm-fw.elf")))));
  EXPECT_EQ(manifest["stripped"]["sha256"], to_hex(sha256(read_all(bin("cvtpm-fw-stripped.elf")))));
  EXPECT_EQ(manifest["stripped"]["bytes"],
            std::filesystem::file_size(bin("cvtpm-fw-stripped.elf")));
  // No host paths or times: only the names of the files.
  const std::string text = manifest.dump();
  EXPECT_EQ(text.find(CVTPM_BIN_DIR), std::string::npos);
  EXPECT_EQ(text.find("/usr/lib"), std::string::npos);
}

// libcrypto/default_provider.cpp and library_init.cpp keep libcrypto's full provider, the legacy
// cipher and digest tables and the CMP/X.509 stack out; the vTPM core is in.
TEST(FirmwareImage, MapShowsTheVtpmCoreAndTheTrimmedLibcrypto) {
  std::ifstream f(bin("cvtpm-fw.map"));
  ASSERT_TRUE(f);
  const std::string map(std::istreambuf_iterator<char>(f), {});
  EXPECT_NE(map.find("cvtpm_vtpm_core_freestanding.dir/src/tpm_engine.cpp.o"), std::string::npos);
  EXPECT_NE(map.find("cvtpm_vtpm_core_freestanding.dir/src/dispatcher.cpp.o"), std::string::npos);
  for (const char* gone :
       {"libcrypto-lib-defltprov.o", "libcrypto-lib-baseprov.o",
        "libcrypto-lib-provider_predefined.o", "libcrypto-lib-c_allc.o", "libcrypto-lib-c_alld.o",
        "libcrypto-lib-cmp_util.o", "libdefault-lib-encode_key2any.o",
        "libcrypto-lib-e_chacha20_poly1305.o", "libcrypto-lib-eng_dyn.o", "libcrypto-lib-e_afalg.o",
        "libcrypto-lib-e_padlock.o"}) {
    EXPECT_EQ(map.find(std::string("(") + gone + ")"), std::string::npos) << gone;
  }
  for (const char* kept : {"libdefault-lib-cipher_camellia.o", "libdefault-lib-rsa_enc.o",
                           "libdefault-lib-ecdsa_sig.o", "libdefault-lib-drbg_ctr.o"}) {
    EXPECT_NE(map.find(std::string("(") + kept + ")"), std::string::npos) << kept;
  }
}

// Every EVP cipher getter libtpms.a references is one the trimmed provider offers (the list the
// firmware self-test runs): a libtpms update that adds one fails here, naming it.
TEST(FirmwareImage, TrimmedProviderCoversEveryEvpGetterOfLibtpms) {
  const auto nm = cvtpm::run_process({CVTPM_NM, "-u", CVTPM_LIBTPMS_ARCHIVE});
  ASSERT_EQ(nm.exit_code, 0) << nm.err;
  std::set<std::string> referenced;
  std::istringstream lines(nm.out);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t at = line.find("U EVP_");
    if (at == std::string::npos) continue;
    const std::string name = line.substr(at + 6);
    const bool getter = !name.empty() && name.rfind("get_", 0) != 0 &&
                        std::all_of(name.begin(), name.end(), [](char c) {
                          return std::islower(static_cast<unsigned char>(c)) ||
                                 std::isdigit(static_cast<unsigned char>(c)) || c == '_';
                        });
    if (getter) referenced.insert(name);
  }
  std::set<std::string> listed;
#define CVTPM_LIST(name) listed.insert(#name);
  CVTPM_LIBTPMS_EVP_CIPHERS(CVTPM_LIST)
#undef CVTPM_LIST
  EXPECT_EQ(referenced, listed);
  EXPECT_EQ(listed.size(), 35u);
}

TEST(FirmwareImage, MapShowsWhatWasLinked) {
  std::ifstream f(bin("cvtpm-fw.map"));
  ASSERT_TRUE(f);
  const std::string map(std::istreambuf_iterator<char>(f), {});
  EXPECT_NE(map.find("libtpms.a(libtpms_tpm2_la-"), std::string::npos);
  EXPECT_NE(map.find("libcrypto.a(libcrypto-lib-"), std::string::npos);
  // libtpms/tpm12_excluded.cpp keeps the TPM 1.2 implementation out.
  EXPECT_EQ(map.find("libtpms_tpm12_la-"), std::string::npos);
}

}  // namespace
}  // namespace cvtpm::fw
