#include "cvtpm/launch/launch_config.h"

#include <nlohmann/json.hpp>

#include "cvtpm/launch/host_checks.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/support/files.h"

namespace cvtpm::launch {
namespace {

using nlohmann::json;

template <typename T>
std::optional<T> get(const json& j, const char* key, const std::string& name) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw InputError(
        name, std::string("config key '") + key + "' has the wrong type (" + it->type_name() + ")");
  }
}

constexpr const char* kKeys[] = {"igvm",
                                 "qemu",
                                 "vcpus",
                                 "memory",
                                 "cpu",
                                 "cbitpos",
                                 "reduced_phys_bits",
                                 "policy",
                                 "id_block",
                                 "id_auth",
                                 "author_key_enabled",
                                 "host_data",
                                 "disks",
                                 "network",
                                 "serial",
                                 "guest_vmpl",
                                 "extra_args",
                                 "out_dir"};

template <typename T>
void take(std::optional<T>& out, const std::optional<T>& over) {
  if (over) out = over;
}

}  // namespace

LaunchSettings parse_settings_json(const std::string& text, const std::string& name) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(name, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw InputError(name, "a launch config must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      throw InputError(name, "unknown config key '" + key + "'");
    }
  }
  LaunchSettings s;
  s.igvm = get<std::string>(j, "igvm", name);
  s.qemu = get<std::string>(j, "qemu", name);
  s.vcpus = get<unsigned>(j, "vcpus", name);
  if (auto m = j.find("memory"); m != j.end() && m->is_number_unsigned()) {
    s.memory = std::to_string(m->get<std::uint64_t>());
  } else {
    s.memory = get<std::string>(j, "memory", name);
  }
  s.cpu = get<std::string>(j, "cpu", name);
  s.cbitpos = get<unsigned>(j, "cbitpos", name);
  s.reduced_phys_bits = get<unsigned>(j, "reduced_phys_bits", name);
  s.policy = get<std::string>(j, "policy", name);
  s.id_block = get<std::string>(j, "id_block", name);
  s.id_auth = get<std::string>(j, "id_auth", name);
  s.author_key_enabled = get<bool>(j, "author_key_enabled", name);
  s.host_data = get<std::string>(j, "host_data", name);
  if (auto d = j.find("disks"); d != j.end() && !d->is_null()) {
    if (!d->is_array()) throw InputError(name, "config key 'disks' must be an array");
    std::vector<Disk> disks;
    for (const json& e : *d) {
      if (e.is_string()) {
        disks.push_back({e.get<std::string>(), ""});
      } else if (e.is_object() && e.contains("path") && e["path"].is_string()) {
        disks.push_back({e["path"].get<std::string>(), e.value("format", "")});
      } else {
        throw InputError(name,
                         "config key 'disks' entries must be paths or {\"path\", \"format\"}");
      }
    }
    s.disks = disks;
  }
  s.network = get<bool>(j, "network", name);
  s.serial = get<std::string>(j, "serial", name);
  s.guest_vmpl = get<unsigned>(j, "guest_vmpl", name);
  s.extra_args = get<std::vector<std::string>>(j, "extra_args", name);
  s.out_dir = get<std::string>(j, "out_dir", name);
  return s;
}

LaunchSettings load_settings_file(const std::filesystem::path& path) {
  std::vector<std::uint8_t> bytes = read_file(path);
  return parse_settings_json(std::string(bytes.begin(), bytes.end()), path.string());
}

LaunchSettings layer(const LaunchSettings& base, const LaunchSettings& over) {
  LaunchSettings s = base;
  take(s.igvm, over.igvm);
  take(s.qemu, over.qemu);
  take(s.vcpus, over.vcpus);
  take(s.memory, over.memory);
  take(s.cpu, over.cpu);
  take(s.cbitpos, over.cbitpos);
  take(s.reduced_phys_bits, over.reduced_phys_bits);
  take(s.policy, over.policy);
  take(s.id_block, over.id_block);
  take(s.id_auth, over.id_auth);
  take(s.author_key_enabled, over.author_key_enabled);
  take(s.host_data, over.host_data);
  take(s.disks, over.disks);
  take(s.network, over.network);
  take(s.serial, over.serial);
  take(s.guest_vmpl, over.guest_vmpl);
  take(s.extra_args, over.extra_args);
  take(s.out_dir, over.out_dir);
  return s;
}

std::uint64_t parse_memory_mib(const std::string& text, const std::string& what) {
  std::string digits = text;
  std::uint64_t scale_kib = 1024;  // plain numbers are MiB, as for QEMU's -m
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'M':
      case 'm':
        scale_kib = 1024;
        digits.pop_back();
        break;
      case 'G':
      case 'g':
        scale_kib = 1024 * 1024;
        digits.pop_back();
        break;
      case 'T':
      case 't':
        scale_kib = 1024ull * 1024 * 1024;
        digits.pop_back();
        break;
      default:
        break;
    }
  }
  const std::uint64_t n = parse_uint(digits, what, 1ull << 32);
  const std::uint64_t mib = n * scale_kib / 1024;
  if (mib < 256) throw InputError(what, "'" + text + "' is below the 256 MiB a guest needs");
  if (mib > (16ull << 20)) throw InputError(what, "'" + text + "' is more than 16 TiB");
  return mib;
}

namespace {

void check_cbitpos(unsigned cbitpos) {
  if (cbitpos < 32 || cbitpos > 63) {
    throw InputError("--cbitpos", std::to_string(cbitpos) + " is not a C-bit position (32..63)");
  }
}

}  // namespace

Disk resolve_disk(Disk disk) {
  if (disk.path.empty()) throw InputError("--disk", "empty path");
  if (disk.format.empty()) disk.format = disk.path.ends_with(".qcow2") ? "qcow2" : "raw";
  if (disk.format != "raw" && disk.format != "qcow2") {
    throw InputError("--disk", "'" + disk.format + "' is not a disk format (raw, qcow2)");
  }
  return disk;
}

unsigned resolve_cbitpos(const LaunchSettings& s, const CbitReading& host_cbit) {
  if (s.cbitpos) return *s.cbitpos;
  if (!host_cbit.cbitpos) {
    throw HostUnsuitableError("the host's C-bit position cannot be read: " + host_cbit.problem +
                              "; for another host, pass --cbitpos with its value "
                              "(`cvtpm-launch check` there prints it)");
  }
  check_cbitpos(*host_cbit.cbitpos);
  return *host_cbit.cbitpos;
}

LaunchPlan resolve_plan(const LaunchSettings& s, bool host_device_plane) {
  LaunchPlan p;
  if (!s.igvm) throw InputError("--igvm", "required: the IGVM image to launch");
  p.igvm = *s.igvm;
  if (s.qemu) p.qemu = *s.qemu;
  if (s.vcpus) {
    if (*s.vcpus == 0 || *s.vcpus > 1024) {
      throw InputError("--vcpus", std::to_string(*s.vcpus) + " is not between 1 and 1024");
    }
    p.vcpus = *s.vcpus;
  }
  if (s.memory) p.memory_mib = parse_memory_mib(*s.memory, "--memory");
  if (s.cpu) {
    if (s.cpu->empty() || s.cpu->find_first_of(", ") != std::string::npos) {
      throw InputError("--cpu", "'" + *s.cpu + "' is not a QEMU CPU model name");
    }
    p.cpu = *s.cpu;
  }
  if (s.cbitpos) {
    check_cbitpos(*s.cbitpos);
    p.cbitpos = *s.cbitpos;
  }
  if (s.reduced_phys_bits) p.reduced_phys_bits = *s.reduced_phys_bits;
  if (p.reduced_phys_bits < 1 || p.reduced_phys_bits > 63) {
    throw InputError("--reduced-phys-bits",
                     std::to_string(p.reduced_phys_bits) + " is out of range");
  }
  if (s.policy) p.policy = parse_uint(*s.policy, "--policy");
  if ((p.policy & (1ull << 17)) == 0) {
    throw InputError("--policy", *s.policy + " lacks bit 17, which SNP requires set");
  }
  if (s.id_block.has_value() != s.id_auth.has_value()) {
    throw InputError(s.id_block ? "--id-auth" : "--id-block",
                     "--id-block and --id-auth go together");
  }
  if (s.id_block) {
    if (parse_base64(*s.id_block, "--id-block").size() != 96) {
      throw InputError("--id-block", "an SNP ID block is 96 bytes (base64)");
    }
    if (parse_base64(*s.id_auth, "--id-auth").size() != 4096) {
      throw InputError("--id-auth", "SNP ID authentication information is 4096 bytes (base64)");
    }
    p.id_block = s.id_block;
    p.id_auth = s.id_auth;
  }
  p.author_key_enabled = s.author_key_enabled.value_or(false);
  if (p.author_key_enabled && !p.id_block) {
    throw InputError("--author-key-enabled", "needs --id-block and --id-auth");
  }
  if (s.host_data) {
    if (parse_base64(*s.host_data, "--host-data").size() != 32) {
      throw InputError("--host-data", "HOST_DATA is 32 bytes (base64)");
    }
    p.host_data = s.host_data;
  }
  for (const Disk& d : s.disks.value_or(std::vector<Disk>{})) p.disks.push_back(resolve_disk(d));
  p.network = s.network.value_or(true);
  if (s.serial) p.serial = *s.serial;
  p.device_plane = host_device_plane;
  if (s.guest_vmpl) {
    if (*s.guest_vmpl < 1 || *s.guest_vmpl > 3) {
      throw InputError("--guest-vmpl",
                       std::to_string(*s.guest_vmpl) + " is not a VMPL below 0 (1..3)");
    }
    p.guest_vmpl = *s.guest_vmpl;
  }
  if (s.extra_args) p.extra_args = *s.extra_args;
  if (s.out_dir) p.out_dir = *s.out_dir;
  return p;
}

}  // namespace cvtpm::launch
