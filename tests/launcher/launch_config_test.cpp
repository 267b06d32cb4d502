#include "cvtpm/launch/launch_config.h"

#include <gtest/gtest.h>

#include <functional>

#include "cvtpm/launch/host_checks.h"
#include "cvtpm/support/error.h"

namespace cvtpm::launch {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(LaunchConfig, ParsesEveryKey) {
  LaunchSettings s = parse_settings_json(R"({
    "igvm": "a.igvm", "qemu": "/opt/qemu", "vcpus": 4, "memory": "8G", "cpu": "EPYC-Genoa",
    "cbitpos": 51, "reduced_phys_bits": 1, "policy": "0x30000", "author_key_enabled": false,
    "disks": ["root.qcow2", {"path": "data.img", "format": "raw"}], "network": false,
    "serial": "stdio", "guest_vmpl": 1, "extra_args": ["-S"], "out_dir": "runs"})",
                                         "cfg.json");
  EXPECT_EQ(*s.igvm, "a.igvm");
  EXPECT_EQ(*s.vcpus, 4u);
  EXPECT_EQ(*s.memory, "8G");
  ASSERT_EQ(s.disks->size(), 2u);
  EXPECT_EQ((*s.disks)[1].format, "raw");
  EXPECT_FALSE(*s.network);
  EXPECT_EQ(*s.guest_vmpl, 1u);
  EXPECT_EQ(parse_settings_json(R"({"memory": 4096})", "c").memory, "4096");
}

TEST(LaunchConfig, MalformedConfigsNameTheFileAndKey) {
  EXPECT_EQ(error_of([] { parse_settings_json("{", "cfg.json"); }).substr(0, 27),
            "cfg.json: not valid JSON: [");
  EXPECT_EQ(error_of([] { parse_settings_json("[]", "cfg.json"); }),
            "cfg.json: a launch config must be a JSON object");
  EXPECT_EQ(error_of([] { parse_settings_json(R"({"vcpu": 2})", "cfg.json"); }),
            "cfg.json: unknown config key 'vcpu'");
  EXPECT_EQ(error_of([] { parse_settings_json(R"({"vcpus": "two"})", "cfg.json"); }),
            "cfg.json: config key 'vcpus' has the wrong type (string)");
  EXPECT_EQ(error_of([] { parse_settings_json(R"({"disks": [3]})", "cfg.json"); }),
            "cfg.json: config key 'disks' entries must be paths or {\"path\", \"format\"}");
}

TEST(LaunchConfig, FlagsWinOverTheConfigFile) {
  LaunchSettings file =
      parse_settings_json(R"({"igvm": "a.igvm", "vcpus": 4, "memory": "8G"})", "c");
  LaunchSettings flags;
  flags.vcpus = 2;
  LaunchSettings s = layer(file, flags);
  EXPECT_EQ(*s.vcpus, 2u);
  EXPECT_EQ(*s.memory, "8G");
  EXPECT_EQ(*s.igvm, "a.igvm");
}

TEST(ResolvePlan, DefaultsAndHostValues) {
  LaunchSettings s;
  s.igvm = "a.igvm";
  LaunchPlan p = resolve_plan(s, true);
  EXPECT_EQ(p.reduced_phys_bits, 1u);  // what a guest loses (launch_guest.sh, QEMU), not the host's
  EXPECT_TRUE(p.device_plane);
  EXPECT_EQ(p.memory_mib, 2048u);
  EXPECT_EQ(p.policy, 0x30000u);
  EXPECT_EQ(resolve_cbitpos(s, CbitReading{47u, ""}), 47u);
  s.cbitpos = 51;
  EXPECT_EQ(resolve_cbitpos(s, CbitReading{47u, ""}), 51u);  // flags beat the host
  EXPECT_EQ(resolve_cbitpos(s, CbitReading{std::nullopt, "no SEV"}), 51u);
  EXPECT_EQ(resolve_plan(s, false).cbitpos, 51u);
  s.reduced_phys_bits = 5;
  EXPECT_EQ(resolve_plan(s, false).reduced_phys_bits, 5u);
  s.memory = "3G";
  s.disks = std::vector<Disk>{{"root.qcow2", ""}, {"x.img", ""}};
  p = resolve_plan(s, false);
  EXPECT_EQ(p.memory_mib, 3072u);
  EXPECT_EQ(p.disks[0].format, "qcow2");
  EXPECT_EQ(p.disks[1].format, "raw");
}

TEST(ResolvePlan, ConflictsAndBadValues) {
  auto plan_error = [](auto mutate) {
    LaunchSettings s;
    s.igvm = "a.igvm";
    mutate(s);
    return error_of([&] { resolve_plan(s, false); });
  };
  EXPECT_EQ(plan_error([](LaunchSettings& s) { s.igvm.reset(); }),
            "--igvm: required: the IGVM image to launch");
  EXPECT_EQ(plan_error([](LaunchSettings& s) { s.vcpus = 0; }),
            "--vcpus: 0 is not between 1 and 1024");
  EXPECT_EQ(plan_error([](LaunchSettings& s) { s.memory = "12X"; }),
            "--memory: '12X' is not an unsigned integer");
  EXPECT_EQ(plan_error([](LaunchSettings& s) { s.memory = "100M"; }),
            "--memory: '100M' is below the 256 MiB a guest needs");
  EXPECT_EQ(plan_error([](LaunchSettings& s) { s.id_block = "AAAA"; }),
            "--id-auth: --id-block and --id-auth go together");
  EXPECT_EQ(plan_error([](LaunchSettings& s) {
              s.id_block = "AAAA";
              s.id_auth = "AAAA";
            }),
            "--id-block: an SNP ID block is 96 bytes (base64)");
  EXPECT_EQ(plan_error([](LaunchSettings& s) { s.author_key_enabled = true; }),
            "--author-key-enabled: needs --id-block and --id-auth");
  EXPECT_EQ(plan_error([](LaunchSettings& s) { s.policy = "0x10000"; }),
            "--policy: 0x10000 lacks bit 17, which SNP requires set");
  EXPECT_EQ(plan_error([](LaunchSettings& s) { s.guest_vmpl = 0; }),
            "--guest-vmpl: 0 is not a VMPL below 0 (1..3)");
  EXPECT_EQ(plan_error([](LaunchSettings& s) { s.cbitpos = 7; }),
            "--cbitpos: 7 is not a C-bit position (32..63)");
  EXPECT_EQ(plan_error([](LaunchSettings& s) {
              s.disks = std::vector<Disk>{{"a.vmdk", "vmdk"}};
            }),
            "--disk: 'vmdk' is not a disk format (raw, qcow2)");
  EXPECT_EQ(plan_error([](LaunchSettings& s) { s.host_data = "AAAA"; }),
            "--host-data: HOST_DATA is 32 bytes (base64)");
}

TEST(ResolvePlan, NoDefaultCbitWhenTheHostCannotTell) {
  LaunchSettings s;
  s.igvm = "a.igvm";
  try {
    resolve_cbitpos(s,
                    CbitReading{std::nullopt, "CPUID 0x8000001F reports no SEV (EAX bit 1 clear)"});
    FAIL() << "a C-bit position was made up";
  } catch (const HostUnsuitableError& e) {
    EXPECT_EQ(std::string(e.what()),
              "the host's C-bit position cannot be read: CPUID 0x8000001F reports no SEV (EAX "
              "bit 1 clear); for another host, pass --cbitpos with its value (`cvtpm-launch "
              "check` there prints it)");
  }
}

}  // namespace
}  // namespace cvtpm::launch
