// Package safetensors reads and writes float32 tensors in the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header length, a JSON
// header mapping names to dtype, shape and data offsets (plus an optional "__metadata__" map of
// strings), then the raw little-endian tensor bytes.
//
// The checkpoints of `sam train` (train.SaveModel) are such files, one tensor per parameter
// named like PyTorch's (fc1.weight, fc1.bias, ...), so Python's safetensors.torch.load_file
// reads them too; train.LoadModel rebuilds the model from the spec in the metadata.
//
// The main type is Tensor (name, shape, float32 data); ReadFile and WriteFile (atomic) work on
// files, Decode and Encode on bytes. Errors are one line; those of ReadFile name the file.
//
//	tensors, meta, err := safetensors.ReadFile("runs/mnist/model.safetensors")
//	for _, t := range tensors {
//		fmt.Println(t.Name, t.Shape)
//	}
package safetensors
