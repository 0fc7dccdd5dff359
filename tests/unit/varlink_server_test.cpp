#include "varlink_server.h"

#include <gtest/gtest.h>

#include "params.h"
#include "varlink_test_client.h"

using namespace framepace;
using namespace framepace::varlink;
using framepace::varlink::testing::LoopFixture;

namespace {

class VarlinkServer : public LoopFixture {
protected:
    void SetUp() override {
        LoopFixture::SetUp();
        Limits limits;
        limits.max_message_bytes = 4096;
        limits.max_connections_per_uid = 3;
        server_ = std::make_unique<Server>(loop_.get(), ServiceInfo{"v", "p", "1", "u"}, limits);
        InterfaceSpec spec;
        spec.name = "io.test.Echo";
        spec.description = "interface io.test.Echo\nmethod Echo() -> ()\n";
        spec.methods["Echo"] = {[](const CallInfo& call, Responder r) { r.reply(call.parameters); }};
        spec.methods["Count"] = {[this](const CallInfo&, Responder r) {
            r.reply({{"n", ++count_}});
        }};
        spec.methods["Stream"] = {[](const CallInfo& call, Responder r) {
            if (!call.more)
                return r.error(kErrorExpectedMore);
            r.reply_more({{"i", 1}});
            r.reply_more({{"i", 2}});
            r.reply({{"i", 3}});
        }};
        spec.methods["Later"] = {[this](const CallInfo&, Responder r) { later_ = r; }};
        spec.methods["Root"] = {[](const CallInfo&, Responder r) { r.reply(); }, true};
        spec.methods["Missing"] = {nullptr};
        spec.methods["Big"] = {[](const CallInfo&, Responder r) {
            r.reply({{"data", std::string(10000, 'y')}});
        }};
        server_->add_interface(std::move(spec));
        fd_ = connect(*server_);
    }

    std::unique_ptr<Server> server_;
    int fd_ = -1;
    int count_ = 0;
    Responder later_;
};

}  // namespace

TEST_F(VarlinkServer, SplitMessageIsReassembled) {
    send_raw(fd_, R"({"method":"io.te)");
    EXPECT_TRUE(receive(fd_).empty());
    send_raw(fd_, R"(st.Echo.Echo","parameters":{"a")");
    EXPECT_TRUE(receive(fd_).empty());
    send_raw(fd_, std::string(R"(:1}})") + '\0');
    auto replies = receive(fd_);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0]["parameters"]["a"], 1);
}

TEST_F(VarlinkServer, CoalescedCallsAreAnsweredInOrder) {
    std::string batch;
    for (int i = 0; i < 50; i++)
        batch += std::string(R"({"method":"io.test.Echo.Count"})") + '\0';
    send_raw(fd_, batch);
    auto replies = receive(fd_);
    ASSERT_EQ(replies.size(), 50u);
    for (int i = 0; i < 50; i++)
        EXPECT_EQ(replies[i]["parameters"]["n"], i + 1);
}

TEST_F(VarlinkServer, ParametersMissingNullOrEmptyAllMeanNone) {
    EXPECT_EQ(call(fd_, {{"method", "io.test.Echo.Echo"}})["parameters"], json::object());
    EXPECT_EQ(call(fd_, {{"method", "io.test.Echo.Echo"}, {"parameters", nullptr}})["parameters"],
              json::object());
    EXPECT_EQ(call(fd_, {{"method", "io.test.Echo.Echo"}, {"parameters", json::object()}})["parameters"],
              json::object());
}

TEST_F(VarlinkServer, NonObjectParametersAreInvalid) {
    auto reply = call(fd_, {{"method", "io.test.Echo.Echo"}, {"parameters", json::array()}});
    EXPECT_EQ(reply["error"], kErrorInvalidParameter);
    EXPECT_EQ(reply["parameters"]["parameter"], "parameters");
}

TEST_F(VarlinkServer, UnknownMethodAndInterface) {
    auto m = call(fd_, {{"method", "io.test.Echo.Nope"}});
    EXPECT_EQ(m["error"], kErrorMethodNotFound);
    EXPECT_EQ(m["parameters"]["method"], "io.test.Echo.Nope");
    auto i = call(fd_, {{"method", "io.other.Thing.Call"}});
    EXPECT_EQ(i["error"], kErrorInterfaceNotFound);
    EXPECT_EQ(i["parameters"]["interface"], "io.other.Thing");
    EXPECT_EQ(call(fd_, {{"method", "nodots"}})["error"], kErrorInterfaceNotFound);
}

TEST_F(VarlinkServer, NotImplemented) {
    EXPECT_EQ(call(fd_, {{"method", "io.test.Echo.Missing"}})["error"], kErrorMethodNotImplemented);
}

TEST_F(VarlinkServer, ServiceInterface) {
    auto info = call(fd_, {{"method", "org.varlink.service.GetInfo"}})["parameters"];
    EXPECT_EQ(info["product"], "p");
    EXPECT_EQ(info["interfaces"], json::array({"org.varlink.service", "io.test.Echo"}));
    auto desc = call(fd_, {{"method", "org.varlink.service.GetInterfaceDescription"},
                           {"parameters", {{"interface", "io.test.Echo"}}}});
    EXPECT_EQ(desc["parameters"]["description"], "interface io.test.Echo\nmethod Echo() -> ()\n");
    auto self = call(fd_, {{"method", "org.varlink.service.GetInterfaceDescription"},
                           {"parameters", {{"interface", "org.varlink.service"}}}});
    EXPECT_NE(self["parameters"]["description"].get<std::string>().find("method GetInfo()"),
              std::string::npos);
    auto missing = call(fd_, {{"method", "org.varlink.service.GetInterfaceDescription"},
                              {"parameters", {{"interface", "io.none"}}}});
    EXPECT_EQ(missing["error"], kErrorInterfaceNotFound);
    auto bad = call(fd_, {{"method", "org.varlink.service.GetInterfaceDescription"},
                          {"parameters", {{"interface", 5}}}});
    EXPECT_EQ(bad["error"], kErrorInvalidParameter);
    EXPECT_EQ(bad["parameters"]["parameter"], "interface");
}

TEST_F(VarlinkServer, MoreRepliesContinueUntilTheLast) {
    send_raw(fd_, std::string(R"({"method":"io.test.Echo.Stream","more":true})") + '\0');
    auto replies = receive(fd_);
    ASSERT_EQ(replies.size(), 3u);
    EXPECT_EQ(replies[0]["continues"], true);
    EXPECT_EQ(replies[1]["continues"], true);
    EXPECT_FALSE(replies[2].contains("continues"));
    EXPECT_EQ(call(fd_, {{"method", "io.test.Echo.Stream"}})["error"], kErrorExpectedMore);
}

TEST_F(VarlinkServer, OnewayGetsNoReplyButTheNextCallDoes) {
    send_raw(fd_, std::string(R"({"method":"io.test.Echo.Count","oneway":true})") + '\0' +
                      R"({"method":"io.test.Echo.Count"})" + '\0');
    auto replies = receive(fd_);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0]["parameters"]["n"], 2);
}

TEST_F(VarlinkServer, ACallInFlightHoldsBackTheNext) {
    send_raw(fd_, std::string(R"({"method":"io.test.Echo.Later","more":true})") + '\0' +
                      R"({"method":"io.test.Echo.Count"})" + '\0');
    EXPECT_TRUE(receive(fd_).empty());
    ASSERT_TRUE(later_.connected());
    later_.reply({{"late", true}});
    auto replies = receive(fd_);
    ASSERT_EQ(replies.size(), 2u);
    EXPECT_EQ(replies[0]["parameters"]["late"], true);
    EXPECT_EQ(replies[1]["parameters"]["n"], 1);
}

TEST_F(VarlinkServer, ResponderOutlivesItsConnectionHarmlessly) {
    send_raw(fd_, std::string(R"({"method":"io.test.Echo.Later","more":true})") + '\0');
    pump();
    clients_.clear();  // the client goes away
    pump();
    EXPECT_FALSE(later_.connected());
    later_.reply_more({{"x", 1}});  // must be a no-op
    EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(VarlinkServer, PermissionIsCheckedAgainstThePeer) {
    EXPECT_FALSE(call(fd_, {{"method", "io.test.Echo.Root"}}).contains("error"));
    int user = connect(*server_, 1000);
    EXPECT_EQ(call(user, {{"method", "io.test.Echo.Root"}})["error"], kErrorPermissionDenied);
    EXPECT_FALSE(call(user, {{"method", "io.test.Echo.Echo"}}).contains("error"));
}

TEST_F(VarlinkServer, ProtocolViolationsCloseOnlyThatConnection) {
    for (std::string bad : {std::string("{oops"), std::string("[1]"), std::string("\"s\""),
                            std::string(R"({"parameters":{}})"),
                            std::string(R"({"method":"io.test.Echo.Echo","more":"yes"})")}) {
        int fd = connect(*server_);
        send_raw(fd, bad + '\0');
        EXPECT_TRUE(closed(fd)) << bad;
        clients_.pop_back();
    }
    EXPECT_FALSE(call(fd_, {{"method", "io.test.Echo.Echo"}}).contains("error"));
}

TEST_F(VarlinkServer, OversizedMessageClosesTheConnection) {
    send_raw(fd_, "{" + std::string(5000, ' '));
    EXPECT_TRUE(closed(fd_));
}

TEST_F(VarlinkServer, ConnectionsPerUidAreCapped) {
    EXPECT_GE(connect(*server_, 7), 0);
    EXPECT_GE(connect(*server_, 7), 0);
    EXPECT_GE(connect(*server_, 7), 0);
    EXPECT_EQ(connect(*server_, 7), -1);
    EXPECT_GE(connect(*server_, 8), 0);  // another user is unaffected
}

TEST(ParamTable, DecodesTypesRangesAndRejectsUnknownFields) {
    std::optional<uint64_t> n;
    std::optional<bool> flag;
    std::string name;
    ParamTable table;
    table.optional_uint("n", &n, 10, 20).optional_bool("flag", &flag).required_string("name", &name);
    EXPECT_EQ(table.decode({{"name", "x"}, {"n", 15}, {"flag", true}}), std::nullopt);
    EXPECT_EQ(*n, 15u);
    EXPECT_TRUE(*flag);
    EXPECT_EQ(name, "x");
    EXPECT_EQ(table.decode({{"name", "x"}, {"n", 9}}), "n");
    EXPECT_EQ(table.decode({{"name", "x"}, {"n", 21}}), "n");
    EXPECT_EQ(table.decode({{"name", "x"}, {"n", -1}}), "n");
    EXPECT_EQ(table.decode({{"name", "x"}, {"n", 12.5}}), "n");
    EXPECT_EQ(table.decode({{"name", "x"}, {"n", "12"}}), "n");
    EXPECT_EQ(table.decode({{"name", "x"}, {"flag", 1}}), "flag");
    EXPECT_EQ(table.decode({{"name", "x"}, {"other", 1}}), "other");
    EXPECT_EQ(table.decode({{"n", 12}}), "name");
    EXPECT_EQ(table.decode({{"name", nullptr}}), "name");
    EXPECT_EQ(table.decode({{"name", "x"}, {"n", nullptr}}), std::nullopt);
    EXPECT_EQ(table.decode(json::array()), "parameters");
}

TEST_F(VarlinkServer, PipelinedCallsBeyondTheOutputBackpressureAllGetAnswered) {
    // One write of many calls whose replies exceed the output backpressure: once the client
    // reads, the server must go on with the calls it already holds, without new input.
    std::string batch;
    for (int i = 0; i < 300; i++)
        batch += std::string(R"({"method":"io.test.Echo.Big"})") + '\0';
    size_t sent = 0;
    size_t replies = 0;
    for (int round = 0; round < 2000 && replies < 300; round++) {
        if (sent < batch.size()) {
            ssize_t n = ::send(fd_, batch.data() + sent, batch.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                sent += static_cast<size_t>(n);
        }
        replies += receive(fd_).size();
    }
    EXPECT_EQ(sent, batch.size());
    EXPECT_EQ(replies, 300u);
}
