sudo dpkg --add-architecture arm64 && sudo apt-get update
sudo apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
    libcurl4-openssl-dev:arm64 libssl-dev:arm64 libcjson-dev:arm64
cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=MinSizeRel
cmake --build build-aarch64 -j
ctest --test-dir build-aarch64 -j 2 --output-on-failure      # the unit tests, run under qemu-aarch64
