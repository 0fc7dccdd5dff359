// MESSAGE_ID= values of framepaced's journal entries; sysext/framepace.catalog explains each.
#pragma once

namespace framepace::message_id {

inline constexpr const char* kSchedulerAttached = "78daa8cb9fdc4d3898c966969458ee42";
inline constexpr const char* kSchedulerDetached = "f110a1f385674d4380b5f4a256021ab2";
inline constexpr const char* kSchedulerEjected = "5ccc4803c37a47219b9245d2017a56ed";
inline constexpr const char* kSchedulerCounters = "cda4e3164b5b4f67ad73d8d23f66a97d";
inline constexpr const char* kTunablesChanged = "2f8e3c1a7b6d4e59a0c4d7e8f1b2a3c5";
inline constexpr const char* kSchedulerAdopted = "9b1d6e2f4a8c4f17b3e5d0a6c2f8e4b1";
inline constexpr const char* kSchedulerReplaced = "4e7a2c9d1b5f4a83a6d0e3c7b9f1d5a2";
inline constexpr const char* kRingbufOverflow = "c3f1a9e7d5b24c6e8a0f2d4b6e8c1a37";
inline constexpr const char* kRingbufRecovered = "0d8b6f4e2a9c4b1d9e7f5a3c1b0d8e6f";
inline constexpr const char* kProcessesRescanned = "aaab392e93154c2993fc2a3ee6de796d";
inline constexpr const char* kProcessClassified = "a16265545f154f948224ddf99ea45590";
inline constexpr const char* kClassMapFull = "4ba1eee78fb54c6a80115403ac1cac82";
inline constexpr const char* kPowerProfileChanged = "08704654c8d6478a81f0507aed999882";
inline constexpr const char* kSystemSleeping = "884eac6e15fd4d81999056b8c9fc8240";
inline constexpr const char* kSystemResumed = "cb1836c8a66b44b2b7d004c0e0d2ac79";

}  // namespace framepace::message_id
