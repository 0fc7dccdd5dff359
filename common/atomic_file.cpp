#include "common/atomic_file.h"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace framepace {
namespace {

// Unlinks the temporary file unless the rename consumed it.
class TemporaryFile {
public:
    explicit TemporaryFile(std::string path) : path_(std::move(path)) {}
    ~TemporaryFile() {
        if (!path_.empty())
            ::unlink(path_.c_str());
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    void renamed() { path_.clear(); }

private:
    std::string path_;
};

}  // namespace

Status write_file_atomically(const std::filesystem::path& path, std::string_view text,
                             const FileSystemCalls& calls) {
    std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        return make_error(-ec.value(), "cannot create " + dir.string());
    std::string tmp = path.string() + ".tmp";
    UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid())
        return make_error(-errno, "cannot create " + tmp);
    TemporaryFile guard(tmp);
    for (size_t done = 0; done < text.size();) {
        ssize_t n = calls.write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        // A write that makes no progress without an errno is a full disk in practice.
        if (n <= 0)
            return make_error(n < 0 ? -errno : -ENOSPC, "cannot write " + tmp);
        done += static_cast<size_t>(n);
    }
    if (calls.fsync(fd.get()) < 0)
        return make_error(-errno, "cannot sync " + tmp);
    fd.reset();
    if (calls.rename(tmp.c_str(), path.c_str()) < 0)
        return make_error(-errno, "cannot replace " + path.string());
    guard.renamed();
    UniqueFd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd.valid())
        return make_error(-errno, "replaced " + path.string() + " but cannot open " + dir.string() +
                                      " to sync it");
    if (calls.fsync(dir_fd.get()) < 0)
        return make_error(-errno, "replaced " + path.string() + " but cannot sync " + dir.string() +
                                      " (the change may not survive a power loss)");
    return Ok{};
}

}  // namespace framepace
