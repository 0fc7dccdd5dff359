// framepace-vm-uinput: a virtual keyboard for the VM tests. Creates it through uinput, reads
// its evdev node from a second thread (an input handler, as a game's input thread would be),
// types COUNT key presses INTERVAL_MS apart and prints one JSON line: how many key events
// the reader got, how long each took from the kernel's input_event() to the reader running
// (µs; every event is paired with its own timestamp, which evdev stamps on the monotonic
// clock), and the reader's thread id. With HOLD_MS it then stays HOLD_MS alive, the reader
// thread included, so a test can look the reader up (ListTasks) after the keys.
//   framepace-vm-uinput COUNT [INTERVAL_MS [HOLD_MS]]
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "percentile.h"

using framepace::vm::percentile;

namespace {

constexpr const char* kName = "framepace-test-keyboard";

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

bool emit(int fd, uint16_t type, uint16_t code, int32_t value) {
    input_event ev{};
    ev.type = type;
    ev.code = code;
    ev.value = value;
    return write(fd, &ev, sizeof(ev)) == static_cast<ssize_t>(sizeof(ev));
}

// The /dev/input/eventN that the kernel made for our device (devtmpfs creates it).
std::string find_event_node() {
    for (int attempt = 0; attempt < 200; attempt++) {
        for (int n = 0; n < 64; n++) {
            std::ifstream name("/sys/class/input/event" + std::to_string(n) + "/device/name");
            std::string text;
            if (std::getline(name, text) && text == kName &&
                access(("/dev/input/event" + std::to_string(n)).c_str(), R_OK) == 0)
                return "/dev/input/event" + std::to_string(n);
        }
        usleep(10'000);
    }
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: framepace-vm-uinput COUNT [INTERVAL_MS]\n");
        return 2;
    }
    int count = std::atoi(argv[1]);
    int interval_ms = argc > 2 ? std::atoi(argv[2]) : 20;
    int hold_ms = argc > 3 ? std::atoi(argv[3]) : 0;

    int ui = open("/dev/uinput", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (ui < 0) {
        std::perror("framepace-vm-uinput: /dev/uinput");
        return 2;
    }
    uinput_setup setup{};
    setup.id.bustype = BUS_USB;
    setup.id.vendor = 0x1209;
    setup.id.product = 0xf9ce;
    std::strncpy(setup.name, kName, UINPUT_MAX_NAME_SIZE - 1);
    if (ioctl(ui, UI_SET_EVBIT, EV_KEY) < 0 || ioctl(ui, UI_SET_KEYBIT, KEY_A) < 0 ||
        ioctl(ui, UI_DEV_SETUP, &setup) < 0 || ioctl(ui, UI_DEV_CREATE) < 0) {
        std::perror("framepace-vm-uinput: creating the device");
        return 2;
    }
    std::string node = find_event_node();
    int reader_fd = node.empty() ? -1 : open(node.c_str(), O_RDONLY | O_CLOEXEC);
    if (reader_fd < 0) {
        std::fprintf(stderr, "framepace-vm-uinput: no readable event node for the device\n");
        return 2;
    }
    // Event timestamps on CLOCK_MONOTONIC, the clock now_ns() reads.
    int clock_id = CLOCK_MONOTONIC;
    if (ioctl(reader_fd, EVIOCSCLOCKID, &clock_id) < 0) {
        std::perror("framepace-vm-uinput: EVIOCSCLOCKID");
        return 2;
    }

    std::atomic<bool> stop{false};
    std::atomic<bool> done_reading{false};
    std::atomic<bool> release{false};
    std::atomic<long> reader_tid{0};
    std::vector<uint64_t> latencies_ns;
    int keys_read = 0;
    std::thread reader([&] {
        reader_tid = syscall(SYS_gettid);
        pollfd pfd{reader_fd, POLLIN, 0};
        while (!stop) {
            if (poll(&pfd, 1, 100) <= 0)
                continue;
            input_event events[16];
            ssize_t n = read(reader_fd, events, sizeof(events));
            uint64_t woke = now_ns();
            for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof(input_event)); i++) {
                if (events[i].type != EV_KEY)
                    continue;
                keys_read++;
                const uint64_t at =
                    static_cast<uint64_t>(events[i].input_event_sec) * 1'000'000'000 +
                    static_cast<uint64_t>(events[i].input_event_usec) * 1000;
                latencies_ns.push_back(woke > at ? woke - at : 0);
            }
        }
        done_reading = true;
        // Stay alive (asleep) until released, so the thread can still be listed.
        while (!release)
            usleep(10'000);
    });

    usleep(100'000);  // let evdev finish attaching the reader
    int written = 0;
    for (int i = 0; i < count; i++) {
        for (int value : {1, 0}) {
            if (!emit(ui, EV_KEY, KEY_A, value) || !emit(ui, EV_SYN, SYN_REPORT, 0))
                break;
            written++;
            usleep(static_cast<useconds_t>(interval_ms) * 500);
        }
    }
    usleep(200'000);
    stop = true;

    while (!done_reading)  // within its 100 ms poll; its figures are final after this
        usleep(10'000);
    std::vector<uint64_t> us;
    for (uint64_t ns : latencies_ns)
        us.push_back(ns / 1000);
    std::printf(
        "{\"written\":%d,\"read\":%d,\"measured\":%zu,\"p50_us\":%llu,\"p99_us\":%llu,"
        "\"max_us\":%llu,\"reader_tid\":%ld}\n",
        written, keys_read, us.size(), static_cast<unsigned long long>(percentile(us, 0.5)),
        static_cast<unsigned long long>(percentile(us, 0.99)),
        static_cast<unsigned long long>(percentile(us, 1.0)), reader_tid.load());
    std::fflush(stdout);
    if (hold_ms > 0)
        usleep(static_cast<useconds_t>(hold_ms) * 1000);
    release = true;
    reader.join();
    ioctl(ui, UI_DEV_DESTROY);
    close(reader_fd);
    close(ui);
    return written == 2 * count ? 0 : 1;
}
