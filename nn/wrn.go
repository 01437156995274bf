package nn

import "fmt"

// wideResNet returns the layers of WideResNet-d-k (Zagoruyko & Komodakis 2016) as the SAM
// paper trains it on CIFAR, with the tensor names of the common PyTorch implementation
// (xternalz/WideResNet-pytorch): a 3×3 convolution conv1 to 16 channels; three stages
// block1..block3 of n = (d−4)/6 pre-activation blocks with 16k, 32k and 64k channels (stride
// 2 entering the second and third); then bn1, ReLU, global average pooling and fc. Block
// blockS.layer.i computes BN-ReLU-conv3×3-BN-ReLU-(dropout p)-conv3×3 plus its input; where the
// channels change the shortcut is a 1×1 convolution convShortcut of the block's first
// BN-ReLU output. Convolutions have no bias.
func wideResNet(spec Spec) (names []string, layers []Layer, err error) {
	d, k := spec.Depth, max(spec.Width, 1)
	if d < 10 || (d-4)%6 != 0 {
		return nil, nil, fmt.Errorf("--depth: WideResNet depth must be 6n+4 with n ≥ 1 (10, 16, 22, 28, …), got %d", d)
	}
	if len(spec.Input) != 3 {
		return nil, nil, fmt.Errorf("--model wrn: needs image input [C,H,W], got shape %v", spec.Input)
	}
	if !(spec.Dropout >= 0 && spec.Dropout < 1) {
		return nil, nil, fmt.Errorf("--dropout: must be in [0,1), got %g", spec.Dropout)
	}
	add := func(name string, l Layer) { names = append(names, name); layers = append(layers, l) }
	add("conv1", &Conv2D{Out: 16, K: 3, Pad: 1, NoBias: true})
	in := 16
	for stage, width := range []int{16 * k, 32 * k, 64 * k} {
		for b := range (d - 4) / 6 {
			stride := 1
			if stage > 0 && b == 0 {
				stride = 2
			}
			name := fmt.Sprintf("block%d.layer.%d", stage+1, b)
			tail := []Layer{&Conv2D{Out: width, K: 3, Stride: stride, Pad: 1, NoBias: true}, &BatchNorm{},
				&Activation{Func: "relu"}}
			tailNames := []string{"conv1", "bn2", "relu2"}
			if spec.Dropout > 0 {
				tail, tailNames = append(tail, &Dropout{P: spec.Dropout}), append(tailNames, "dropout")
			}
			tail = append(tail, &Conv2D{Out: width, K: 3, Pad: 1, NoBias: true})
			tailNames = append(tailNames, "conv2")
			if in == width && stride == 1 {
				// The shortcut is the block's input: BN and ReLU belong to the body.
				add(name, &Residual{Linear: true, Body: append([]Layer{&BatchNorm{}, &Activation{Func: "relu"}}, tail...),
					bodyNames: append([]string{"bn1", "relu1"}, tailNames...)})
			} else {
				// Body and shortcut both start from relu(bn1(x)).
				add(name+".bn1", &BatchNorm{})
				add("", &Activation{Func: "relu"})
				add(name, &Residual{Linear: true, Body: tail, bodyNames: tailNames,
					Short: []Layer{&Conv2D{Out: width, K: 1, Stride: stride, NoBias: true}}, shortNames: []string{"convShortcut"}})
			}
			in = width
		}
	}
	add("bn1", &BatchNorm{})
	add("", &Activation{Func: "relu"})
	add("", &Pool2D{Global: true})
	add("fc", &Dense{Out: spec.Outputs})
	return names, layers, nil
}
