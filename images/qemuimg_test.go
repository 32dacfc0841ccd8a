package images

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInfoCheckConvert(t *testing.T) {
	needQemuImg(t)
	dir := t.TempDir()
	raw := rawImage(t, dir, 8<<20)
	ctx := testCtx(t)

	info, err := Info(ctx, raw, FormatRaw)
	require.NoError(t, err)
	require.Equal(t, "raw", info.Format)
	require.Equal(t, int64(8<<20), info.VirtualSize)

	out := filepath.Join(dir, "out.qcow2")
	var pcts []float64
	require.NoError(t, Convert(ctx, raw, FormatRaw, out, func(p float64) { pcts = append(pcts, p) }))
	require.NotEmpty(t, pcts)
	require.Equal(t, 100.0, pcts[len(pcts)-1])

	info, err = Info(ctx, out, FormatQCOW2)
	require.NoError(t, err)
	require.Equal(t, "qcow2", info.Format)
	require.Equal(t, int64(8<<20), info.VirtualSize)
	require.Positive(t, info.ActualSize)
	require.NoError(t, Check(ctx, out, FormatQCOW2))
	require.NoError(t, Check(ctx, raw, FormatRaw), "raw has no check")
}

func TestCheckFindsTruncatedQcow2(t *testing.T) {
	needQemuImg(t)
	dir := t.TempDir()
	q := convertImage(t, rawImage(t, dir, 8<<20), "qcow2")
	data := readFile(t, q)
	truncated := filepath.Join(dir, "truncated.qcow2")
	require.NoError(t, os.WriteFile(truncated, data[:len(data)/3], 0o644))

	err := Check(testCtx(t), truncated, FormatQCOW2)
	require.ErrorIs(t, err, ErrCorruptImage)
	require.ErrorContains(t, err, "check qcow2 image: corrupt image (qemu-img check found")
	require.ErrorContains(t, err, "truncated or damaged: download or export it again")
	t.Log(err)
}

func TestInfoOnGarbage(t *testing.T) {
	needQemuImg(t)
	p := filepath.Join(t.TempDir(), "bad.qcow2")
	require.NoError(t, os.WriteFile(p, append([]byte("QFI\xfb"), make([]byte, 60)...), 0o644))
	_, err := Info(testCtx(t), p, FormatQCOW2)
	require.ErrorIs(t, err, ErrCorruptImage)
	require.ErrorContains(t, err, "inspect qcow2 image")
	t.Log(err)
}

func TestCreateAndResize(t *testing.T) {
	needQemuImg(t)
	ctx := testCtx(t)
	p := filepath.Join(t.TempDir(), "blank.qcow2")
	require.NoError(t, Create(ctx, p, 64<<20))
	info, err := Info(ctx, p, FormatQCOW2)
	require.NoError(t, err)
	require.Equal(t, int64(64<<20), info.VirtualSize)

	require.NoError(t, Resize(ctx, p, FormatQCOW2, 128<<20, false))
	info, err = Info(ctx, p, FormatQCOW2)
	require.NoError(t, err)
	require.Equal(t, int64(128<<20), info.VirtualSize)

	err = Resize(ctx, p, FormatQCOW2, 1<<20, false)
	require.Error(t, err, "shrinking needs shrink=true")
	require.NotErrorIs(t, err, ErrCorruptImage)
	t.Log(err)
	require.NoError(t, Resize(ctx, p, FormatQCOW2, 1<<20, true))
}
