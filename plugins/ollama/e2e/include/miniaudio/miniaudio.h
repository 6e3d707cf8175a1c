/*
 * Stand-in for miniaudio.h, which the Go module zip of ollama leaves out
 * (llama.cpp's vendor/ folder is not shipped) and Debian does not package.
 *
 * Only llama.cpp's tools/mtmd/mtmd-helper.cpp includes it, to decode audio
 * attachments for multimodal models. Every decoder call here fails, so audio
 * input is rejected ("Unable to read WAV audio file from buffer"); text and
 * image paths are unaffected.
 *
 * mtmd-helper.cpp defines MA_API as `static` before including this file;
 * the functions are also `inline` so unused ones do not warn.
 */
#ifndef SWITCHBOARD_MINIAUDIO_STUB_H
#define SWITCHBOARD_MINIAUDIO_STUB_H

#include <stddef.h>
#include <stdint.h>

#ifndef MA_API
#define MA_API static
#endif

typedef uint32_t ma_uint32;
typedef uint64_t ma_uint64;

typedef int ma_result;
#define MA_SUCCESS 0
#define MA_ERROR (-1)
#define MA_NOT_IMPLEMENTED (-29)

typedef enum {
    ma_format_unknown = 0,
    ma_format_u8 = 1,
    ma_format_s16 = 2,
    ma_format_s24 = 3,
    ma_format_s32 = 4,
    ma_format_f32 = 5
} ma_format;

typedef struct {
    ma_format format;
    ma_uint32 channels;
    ma_uint32 sampleRate;
} ma_decoder_config;

typedef struct {
    ma_decoder_config config;
} ma_decoder;

MA_API inline ma_decoder_config ma_decoder_config_init(ma_format outputFormat, ma_uint32 outputChannels, ma_uint32 outputSampleRate) {
    ma_decoder_config c;
    c.format = outputFormat;
    c.channels = outputChannels;
    c.sampleRate = outputSampleRate;
    return c;
}

MA_API inline ma_result ma_decoder_init_memory(const void * pData, size_t dataSize, const ma_decoder_config * pConfig, ma_decoder * pDecoder) {
    (void) pData; (void) dataSize; (void) pConfig; (void) pDecoder;
    return MA_NOT_IMPLEMENTED;
}

MA_API inline ma_result ma_decoder_get_length_in_pcm_frames(ma_decoder * pDecoder, ma_uint64 * pLength) {
    (void) pDecoder;
    if (pLength) { *pLength = 0; }
    return MA_NOT_IMPLEMENTED;
}

MA_API inline ma_result ma_decoder_read_pcm_frames(ma_decoder * pDecoder, void * pFramesOut, ma_uint64 frameCount, ma_uint64 * pFramesRead) {
    (void) pDecoder; (void) pFramesOut; (void) frameCount;
    if (pFramesRead) { *pFramesRead = 0; }
    return MA_NOT_IMPLEMENTED;
}

MA_API inline ma_result ma_decoder_uninit(ma_decoder * pDecoder) {
    (void) pDecoder;
    return MA_SUCCESS;
}

#endif /* SWITCHBOARD_MINIAUDIO_STUB_H */
