// Connection: one MQTT client connection over a Transport. Reads and frames packets, runs the
// protocol (CONNECT and authentication, PUBLISH in with topic aliases, receive maximum, ACL and
// tier checks, QoS 1/2 acknowledgements, SUBSCRIBE/UNSUBSCRIBE, PING, DISCONNECT, keep alive and
// connect timeout) and is the PacketSink its Session writes to. Its timeouts are entries of the
// server's Deadlines (one sweep for all connections, no timer per connection).
// Implemented in parts: connection.cpp (life cycle, close, timeouts), connection_read.cpp
// (handshake, read loop, dispatch), connection_drain.cpp (the takeover drain),
// connection_connect.cpp (CONNECT, takeover, CONNACK),
// connection_publish.cpp (PUBLISH in, QoS 0 batch, acknowledgements), connection_subscribe.cpp
// (SUBSCRIBE, UNSUBSCRIBE) and connection_write.cpp (the write queue).
// Session takeover: when the client id's session is still attached to an older connection, the
// new connection pauses reading and asks the old one (on the old one's strand) to drain the input
// it has received but not read (drain_input: e.g. a DISCONNECT with a new session expiry, or the
// close); only then does it open the session, so Session Present and the old connection's end
// follow the order in which the client sent them, whichever I/O thread is faster. Plain TCP
// drains what the socket holds (read synchronously). TLS and WebSocket streams always have a read
// outstanding, so no second read can run beside it: there the drain waits, checking on the
// strand, until the transport has no unread input left (Transport::unread_input; their bytes
// leave the kernel only on the strand, see net::ReadinessSocket), the connection ends, or 250 ms
// passed.
//
// Thread-safety: the read side and all protocol state run on the transport's strand. The write
// side (send, pending_bytes, kick) may be called from any thread: out_mu_ guards the pending
// output buffer, and a single write at a time is issued, either from the strand (do_write) or,
// for plain TCP, directly by the I/O thread that queued the output (OutputScope below).
// drain_input may be called from any thread too (it posts to the strand), and so is on_durable
// (the committer thread: it adds the commit's outcome to out_->acks under out_mu_ and posts
// ack_durable to the strand for the first of a batch).
// Direct writes: while an OutputScope is open on an I/O thread (a read's processing, a PUBACK
// handler, a write completion), output queued on this thread to a plain-TCP connection with no
// write in progress is not handed to that connection's strand: the connection is remembered,
// and when the scope ends the thread writes its pending bytes to the socket itself (::send,
// non-blocking, under out_mu_; finish() sets dead_ under out_mu_ before closing the socket, so
// the descriptor cannot be closed or reused meanwhile). What the socket does not take goes to
// the strand's do_write as before. So a message goes from the publisher's read to the
// subscriber's socket on one thread, as in mosquitto, without the post, the other thread's
// wake-up and the write completion of the strand path.
// Accepted QoS 0 PUBLISHes are not routed one by one: they wait in the I/O thread's batch
// (thread-local, owned by the connection whose packets are being processed) and go to
// Broker::publish_qos0 together when process() has handled what one read brought, or earlier
// before any other packet, a QoS 1/2 PUBLISH, close() or finish(), or when the batch is full.
// Invariants: at most one async read and one async write are outstanding (a drain reads only
// synchronously, on the strand, and leaves the outstanding read or readiness wait as it is); once
// closing_, no packet is processed; while paused_, no packet is processed and no read is issued;
// finish() runs exactly once and releases the session and the admission slot; the thread's QoS 0
// batch is empty whenever process() is not running (so per publisher, messages are routed in the
// order they arrived, and all of them before the connection's will). Output: write_scheduled_
// (out_mu_) means one writer owns the pending bytes, either the strand (a do_write is posted or
// its write outstanding) or, with write_deferred_, the OutputScope of one thread, which writes
// them when it ends; every send() appends under out_mu_, so bytes leave in the order they were
// queued, whichever thread writes them.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "mqtt/broker/access.h"
#include "mqtt/broker/broker.h"
#include "mqtt/broker/deadlines.h"
#include "mqtt/broker/lazy.h"
#include "mqtt/codec/packet.h"
#include "mqtt/net/transport.h"

namespace imet::mqtt::broker {

// What every connection of one server shares (created by MqttServer): one reference in each
// connection instead of one per field.
// Lifetime: a connection can outlive its server. Its last reference may be an Asio handler (a
// queued cancelled wait, a pending read) that is destroyed only with the io_context, or a session
// the Broker still holds, and both go after the server (Node::stop, the test fixtures). So the
// server and every connection hold a reference (refs) and the last one deletes the env; when the
// server is destroyed it sets server_gone, and from then on a connection touches neither `broker`
// nor `deadlines` (they are gone or going). Only destructors of connections can run by then: the
// server is destroyed only when none of its I/O handlers can run.
struct ConnectionEnv {
  ConnectionEnv(Broker& b, AccessControl& a, boost::asio::thread_pool* pool, Deadlines& d)
      : broker(b), access(a), auth_pool(pool), deadlines(d) {}
  ConnectionEnv(const ConnectionEnv&) = delete;
  ConnectionEnv& operator=(const ConnectionEnv&) = delete;

  Broker& broker;
  AccessControl& access;
  boost::asio::thread_pool* auth_pool;  // may be null: password checks run inline
  Deadlines& deadlines;                 // the connections' timeouts
  std::mutex mu;
  size_t refs = 1;           // mu: the server's and one per Connection
  bool server_gone = false;  // mu
};

// MqttServer's destructor: marks the server gone and drops its reference to `env`.
void release_server_env(ConnectionEnv* env);

class Connection;

// Open on an I/O thread while it runs a connection's handler: output queued meanwhile to plain-TCP
// connections with no write in progress is written directly by this thread when the outermost
// scope ends (see Connection). Scopes nest; only the outermost flushes. Not for threads outside
// the io_context (they would write on behalf of the strand without being an I/O thread; their
// output goes to the strand as before).
class OutputScope {
 public:
  OutputScope();
  ~OutputScope();
  OutputScope(const OutputScope&) = delete;
  OutputScope& operator=(const OutputScope&) = delete;
  // Whether a scope is open on this thread.
  static bool active();
};

class Connection final : public PacketSink,
                         public net::ReadListener,
                         public Deadlines::Entry,
                         public std::enable_shared_from_this<Connection> {
 public:
  // Takes a reference to `env` (see ConnectionEnv for why it may outlive the server).
  Connection(ConnectionEnv& env, std::unique_ptr<net::Transport> transport);
  ~Connection() override;

  // Starts the handshake and the read loop. The broker admission slot for the remote IP must have
  // been taken (Broker::admit); the connection releases it when it ends.
  void start();

  // PacketSink
  size_t pending_bytes() const override { return pending_.load(std::memory_order_relaxed); }
  void send(util::ByteSpan head, util::ByteSpan tail) override;
  void kick(ReasonCode reason) override;
  void drain_input(std::function<void()> done) override;
  // net::ReadListener (reactor path): the socket is readable.
  void on_readable(const boost::system::error_code& ec) override;
  // Deadlines::OnDue for this connection (the sweeping thread, the Deadlines lock held): posts
  // on_timer() to the strand if the connection is still alive.
  void deadline_passed();

 private:
  // Read side (connection_read.cpp).
  void read();
  void on_read(const boost::system::error_code& ec, size_t n);
  // Reactor path: reads and processes what the socket holds, at most `max_rounds` reads (ends
  // early on a short read, when closing or when paused). Issues no new wait.
  void read_available(int max_rounds);
  // Processes whole packets at the start of `data`; returns the bytes consumed.
  size_t process(util::ByteSpan data);
  void read_failed(const boost::system::error_code& ec);
  // Processes what rx_ holds and reads on, after a pause.
  void resume_reading();
  void handle(Packet& packet);

  // Takeover drain of a TLS or WebSocket connection (connection_drain.cpp): checks on the strand,
  // again and again, until the transport's unread input is processed (or the time limit).
  struct BufferedDrain;
  void poll_drain(std::shared_ptr<BufferedDrain> drain);

  // CONNECT (connection_connect.cpp).
  void handle_connect(Connect& c);
  void continue_connect(Connect& c, ReasonCode auth, const std::string& why);
  // What opening the session needs from the CONNECT (kept while a takeover drain runs).
  struct OpenRequest {
    LinkParams link;
    std::optional<uint32_t> requested_expiry;  // the CONNECT's Session Expiry Interval
    bool clean_start = false;
  };
  // The CONNECT is accepted: opens (or takes over) the session and sends the CONNACK.
  void accept_connect(const OpenRequest& req);
  void refuse_connect(ReasonCode reason, std::string_view why);

  // PUBLISH and its acknowledgements (connection_publish.cpp).
  void handle_publish(Publish& p);
  // Routes the QoS 0 messages this connection has in the thread's batch (no-op when none).
  void flush_qos0();
  // A message this client sent (PUBLISH or will), created now: its Message Expiry Interval
  // becomes expiry_at_ms and leaves the properties (the caller drops its own per-hop ones).
  std::shared_ptr<Message> message_from_client(std::string topic, SharedBytes payload, uint8_t qos,
                                               bool retain, Properties properties) const;
  void ack_publish(uint8_t qos, uint16_t packet_id, ReasonCode reason);
  // The commit of an incoming QoS 1/2 message ended (committer thread): its outcome joins
  // out_->acks, and the first of a batch posts ack_durable() to the strand.
  void on_durable(uint8_t qos, uint16_t packet_id, bool ok);
  // Strand: acknowledges (or refuses) every message in out_->acks, in commit order, in one
  // OutputScope, so the acknowledgements of one commit round leave in one write.
  void ack_durable();
  void handle_pubrel(const Pubrel& r);

  // SUBSCRIBE, UNSUBSCRIBE (connection_subscribe.cpp).
  void handle_subscribe(const Subscribe& s);
  void handle_unsubscribe(const Unsubscribe& u);

  // Write side (connection_write.cpp).
  void send_packet(const Packet& packet);
  void do_write();
  // The OutputScope this connection's output was deferred to ends (any I/O thread): writes the
  // pending bytes directly, and hands what the socket does not take to do_write.
  void flush_deferred();
  friend class OutputScope;

  // Life cycle and timeouts (connection.cpp).
  void handle_disconnect(const Disconnect& d);
  // Ends the connection. v5 and connected: a DISCONNECT with `reason` is sent first.
  void close(ReasonCode reason, std::string_view why, bool publish_will = true);
  void finish();
  // Sets the connection's deadline (0: none); on_timer() runs on the strand once it passed.
  void arm_timer(std::chrono::milliseconds after);
  void on_timer();
  // "0x8e": a reason code for the logs.
  static std::string reason_hex(ReasonCode r);

  // Members are ordered to leave no padding: sizeof(Connection) is an idle client's largest
  // allocation (broker_idle_memory_test.cpp checks it).
  ConnectionEnv& env_;  // counted in env_.refs
  std::unique_ptr<net::Transport> transport_;

  // Strand state.
  util::Bytes rx_;  // an incomplete packet (TCP), or the read buffer (TLS, WebSocket)
  uint32_t rx_len_ = 0;
  uint32_t incoming_unacked_ = 0;  // QoS 1/2 not yet acknowledged (QoS 2: awaiting PUBREL)
  uint32_t will_delay_ = 0;
  uint32_t session_expiry_ = 0;
  uint16_t keep_alive_ = 0;
  std::optional<uint16_t> server_keep_alive_;
  Version version_ = Version::kV5;
  bool connected_ = false;  // CONNACK success sent
  bool closing_ = false;
  bool finished_ = false;
  bool publish_will_ = true;
  // Reading is paused: a password check runs on the auth pool, or the previous connection of the
  // client id drains its input before the takeover (accept_connect runs after).
  bool paused_ = false;
  // No read is issued because the committer is backlogged (read() waits for it to drain). The
  // keep-alive timeout does not count this time: the client may well be sending.
  bool held_for_log_ = false;
  bool assigned_id_ = false;
  // The DISCONNECT set the Session Expiry Interval (to session_expiry_): close_session applies it.
  bool disconnect_sets_expiry_ = false;
  // out_mu_ (bit-fields: one memory location of their own, all under out_mu_):
  bool write_scheduled_ : 1 = false;
  bool dead_ : 1 = false;            // no more output accepted
  bool write_deferred_ : 1 = false;  // the writer is a thread's OutputScope, not the strand
  // close() waits for the pending output to be written before finish(): the writer must be the
  // strand (whose write completion calls finish()), so a deferred flush hands over to it.
  bool finish_after_write_ : 1 = false;
  ClientInfo client_;
  std::shared_ptr<Session> session_;
  MessagePtr will_;
  std::chrono::steady_clock::time_point last_rx_;
  Lazy<std::unordered_map<uint16_t, std::string>> in_aliases_;

  // Write side. The buffers exist only while output is pending or being written, or while
  // acknowledgements wait in `acks`.
  struct DurableAck {
    uint16_t packet_id = 0;
    uint8_t qos = 0;
    bool ok = false;
  };
  struct OutBuffers {
    util::Bytes pending;  // out_mu_
    util::Bytes writing;  // strand: the buffer of the outstanding write
    // out_mu_: incoming QoS 1/2 messages whose commit ended, not yet acknowledged (on_durable).
    std::vector<DurableAck> acks;
  };
  mutable std::mutex out_mu_;
  // out_mu_: created by send or on_durable, released when the output is drained and no
  // acknowledgement waits.
  std::unique_ptr<OutBuffers> out_;
  std::atomic<size_t> pending_{0};
};

}  // namespace imet::mqtt::broker
