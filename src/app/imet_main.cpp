// imet: the IMET wallet, client and operator CLI. Parses the command line and dispatches to the
// command implementations (wallet::keys_* …). Nothing else lives here.
#include <iostream>

#include <CLI/CLI.hpp>

#include "crypto/sodium.h"
#include "wallet/genesis_command.h"
#include "wallet/key_commands.h"
#include "wallet/keystore.h"
#include "wallet/ledger_cli.h"
#include "wallet/mqtt_passwd_command.h"
#include "wallet/testnet_command.h"

int main(int argc, char** argv) {
  imet::crypto::ensure_init();
  CLI::App app{"imet: the IMET wallet, client and operator tool", "imet"};
  app.set_version_flag("--version", "imet " IMET_VERSION);
  app.require_subcommand(1);

  imet::wallet::KeyCommandContext ctx;
  ctx.out = &std::cout;
  ctx.key_dir = imet::wallet::KeyStore::default_dir();

  CLI::App* keys = app.add_subcommand("keys", "manage keys in the key directory");
  keys->require_subcommand(1);
  keys->fallthrough();
  keys->add_option("--keydir", ctx.key_dir,
                   "key directory (default $IMET_HOME/keys or ~/.imet/keys)");
  keys->add_option("--passphrase-file", ctx.passphrase.file,
                   "read the passphrase from the first line of FILE (else $IMET_PASSPHRASE, else "
                   "prompt)");
  keys->add_flag("--json", ctx.json, "print JSON");

  std::string name, file;
  bool unencrypted = false, unsafe_raw = false, raw = false;
  CLI::App* k_new = keys->add_subcommand("new", "create a new key");
  k_new->add_option("name", name, "key name")->required();
  k_new->add_flag("--unencrypted", unencrypted, "store without a passphrase (dev networks only)");
  CLI::App* k_list = keys->add_subcommand("list", "list keys and their addresses");
  CLI::App* k_show = keys->add_subcommand("show", "show a key's address and public key");
  k_show->add_option("name", name, "key name")->required();
  CLI::App* k_export = keys->add_subcommand("export", "print or save a key file for backup");
  k_export->add_option("name", name, "key name")->required();
  k_export->add_option("--out", file, "write to FILE (must not exist) instead of stdout");
  k_export->add_flag("--unsafe-raw", unsafe_raw, "print the decrypted 32-byte seed as hex");
  CLI::App* k_import = keys->add_subcommand("import", "import a key file or a raw hex seed");
  k_import->add_option("name", name, "name for the imported key")->required();
  k_import->add_option("file", file, "file to import")->required();
  k_import->add_flag("--raw", raw, "the file holds a 64-hex-digit seed");
  k_import->add_flag("--unencrypted", unencrypted, "with --raw: store without a passphrase");

  std::string address;
  CLI::App* addr = app.add_subcommand("address", "work with IMET addresses");
  addr->require_subcommand(1);
  CLI::App* a_check = addr->add_subcommand("check", "validate an address (catches any typo)");
  a_check->add_option("address", address, "imet1… address")->required();
  a_check->add_flag("--json", ctx.json, "print JSON");

  imet::wallet::GenesisOptions gen;
  CLI::App* genesis = app.add_subcommand("genesis", "create genesis files");
  genesis->require_subcommand(1);
  CLI::App* g_new = genesis->add_subcommand(
      "new", "write a genesis file: --dev --delegate ADDR, or the default allocation");
  g_new->add_option("--out", gen.out_file, "write to FILE (must not exist) instead of stdout");
  g_new->add_option("--chain-id", gen.chain_id,
                    "chain id (a-z, 0-9, '-'); default imet-dev for --dev");
  g_new->add_option("--time-ms", gen.genesis_time_ms, "genesis time, Unix ms (default: now)");
  g_new->add_flag("--dev", gen.dev, "one delegate holding all non-pool coins, 1-second slots");
  g_new->add_option("--delegate", gen.delegates,
                    "with --dev: the delegate's address; otherwise NAME=ADDRESS, repeatable");
  g_new->add_option("--foundation", gen.foundation, "foundation address (10 %, locked)");
  g_new->add_option("--team", gen.team, "team address (10 %, locked)");
  g_new->add_option("--consensus-round", gen.consensus_round, "consensus round address (6 %)");
  g_new->add_option("--angel-round", gen.angel_round, "angel round address (14 %)");

  // tx, query, notarize, verify, verify-proof, pod: wired in wallet/ledger_cli.cpp.
  imet::util::Status ledger_status;
  auto ledger_cli = imet::wallet::add_ledger_commands(app, ctx, &ledger_status);

  imet::wallet::MqttPasswdOptions mpw;
  imet::wallet::MqttTokenOptions mtok;
  CLI::App* mqtt = app.add_subcommand("mqtt", "MQTT broker credentials");
  mqtt->require_subcommand(1);
  CLI::App* m_passwd = mqtt->add_subcommand(
      "passwd", "manage a mosquitto-format password file (new passwords: Argon2id)");
  m_passwd->add_flag("-c", mpw.create, "create a new file (replaces an existing one)");
  m_passwd->add_flag("-b", mpw.batch, "batch mode: the password is the third argument");
  m_passwd->add_flag("-D", mpw.remove, "delete USER");
  m_passwd->add_flag("--check", mpw.check, "verify USER's password (exit 1 if wrong)");
  m_passwd->add_option("--password-file", mpw.password_file,
                       "read the password from the first line of FILE");
  m_passwd->add_option("file", mpw.file, "password file")->required();
  m_passwd->add_option("user", mpw.user, "username")->required();
  m_passwd->add_option("password", mpw.password, "password (with -b only)");
  CLI::App* m_token =
      mqtt->add_subcommand("token", "print a device-key login token (username and password)");
  m_token->add_option("--key", mtok.key_name, "name of the device key")->required();
  m_token->add_option("--client-id", mtok.client_id, "MQTT client id it is for")->required();
  m_token->add_option("--chain-id", mtok.chain_id, "chain id of the network")->required();
  m_token->add_option("--ttl", mtok.ttl, "lifetime: 90s, 15m, 1h (default), 1d");
  m_token->add_option("--keydir", ctx.key_dir, "key directory");
  m_token->add_option("--passphrase-file", ctx.passphrase.file, "passphrase file");
  m_token->add_flag("--json", ctx.json, "print JSON");
  imet::wallet::MqttAclCheckOptions macl;
  CLI::App* m_acl = mqtt->add_subcommand(
      "acl-check", "what a mosquitto-format ACL file allows one client (prints allowed/denied)");
  m_acl->add_option("acl_file", macl.acl_file, "ACL file")->required();
  m_acl->add_option("--client-id", macl.client_id, "client id")->required();
  m_acl->add_option("--username", macl.username, "username (omit for an anonymous client)");
  m_acl->add_option("--publish", macl.publish, "may it publish to TOPIC?");
  m_acl->add_option("--receive", macl.receive, "may it receive messages on TOPIC?");
  m_acl->add_option("--subscribe", macl.subscribe, "may it subscribe to FILTER?");

  imet::wallet::TestnetOptions tn;
  CLI::App* testnet = app.add_subcommand("testnet", "run a local multi-node network on 127.0.0.1");
  testnet->require_subcommand(1);
  testnet->fallthrough();
  testnet->add_option("--dir", tn.dir, "network directory (default $IMET_HOME/testnet)");
  CLI::App* t_start = testnet->add_subcommand(
      "start", "create a network of N witnesses (first time) and start its nodes");
  t_start->add_option("--nodes", tn.nodes, "number of nodes, each a witness (default 4)");
  t_start->add_option("--slot-ms", tn.slot_ms, "slot interval in ms (default 500)");
  t_start->add_option("--base-port", tn.base_port,
                      "node i listens on BASE+10i (p2p), +1 (API), +2 (MQTT); default 27000");
  t_start->add_option("--imetd", tn.imetd, "imetd binary (default: next to imet, else PATH)");
  t_start->add_flag("--reset", tn.reset, "delete the (stopped) network in --dir and create anew");
  t_start->add_option("--node", tn.node, "start only this node (0-based)");
  CLI::App* t_status = testnet->add_subcommand("status", "show each node's heights and peers");
  t_status->add_flag("--json", tn.json, "print JSON");
  CLI::App* t_stop = testnet->add_subcommand("stop", "stop the network's nodes");
  t_stop->add_option("--node", tn.node, "stop only this node (0-based)");
  t_stop->add_flag("--kill", tn.kill, "SIGKILL (like a crash) instead of SIGTERM");

  CLI11_PARSE(app, argc, argv);

  imet::util::Status st;
  if (*k_new) {
    st = imet::wallet::keys_new(ctx, name, unencrypted);
  } else if (*k_list) {
    st = imet::wallet::keys_list(ctx);
  } else if (*k_show) {
    st = imet::wallet::keys_show(ctx, name);
  } else if (*k_export) {
    st = imet::wallet::keys_export(ctx, name, file, unsafe_raw);
  } else if (*k_import) {
    st = imet::wallet::keys_import(ctx, name, file, raw, unencrypted);
  } else if (*a_check) {
    st = imet::wallet::address_check(ctx, address);
  } else if (*m_passwd) {
    st = imet::wallet::mqtt_passwd(mpw, std::cout);
  } else if (*m_token) {
    st = imet::wallet::mqtt_token(ctx, mtok, imet::util::SystemClock::instance());
  } else if (*m_acl) {
    st = imet::wallet::mqtt_acl_check(macl, std::cout, std::cerr);
  } else if (*t_start) {
    st = imet::wallet::testnet_start(tn, std::cout);
  } else if (*t_status) {
    st = imet::wallet::testnet_status(tn, std::cout);
  } else if (*t_stop) {
    st = imet::wallet::testnet_stop(tn, std::cout);
  } else if (*g_new) {
    if (gen.dev) {
      if (gen.delegates.size() != 1) {
        std::cerr << "imet: --dev needs exactly one --delegate ADDRESS\n";
        return 1;
      }
      gen.dev_delegate = gen.delegates[0];
      gen.delegates.clear();
    }
    st = imet::wallet::genesis_new(gen, std::cout);
  }
  if (st.ok()) st = ledger_status;
  if (!st.ok()) {
    std::cerr << "imet: " << st.message() << "\n";
    return 1;
  }
  return 0;
}
