// Next-character loss of a stacked LSTM language model over a one-hot encoded sequence.
//
// The model is the per-unit ("diagonal") LSTM: every gate of a layer of b units has one
// weight and one bias per unit. Parameters:
//   main_params[2*l*4*b]  per layer, 4*b gate weights then 4*b gate biases
//                         (forget, input, output, candidate);
//   extra_params[3*b]     input scaling, output scaling, output bias;
//   state[2*l*b]          per layer, the hidden state then the cell state.
// The loss is the mean cross-entropy of predicting character t+1 from characters 0..t.
#include <cmath>
#include <vector>

#include "vecmath.hpp"

template <typename T>
T sigmoid(T x) {
    return 1 / (1 + std::exp(-x));
}

// One step of one layer: updates hidden and cell in place from the layer input.
template <typename T>
void lstm_model(int b, const T* weight, const T* bias, T* hidden, T* cell, const T* input) {
    std::vector<T> gates(4 * b);
    for (int i = 0; i < b; ++i) {
        gates[i] = sigmoid(input[i] * weight[i] + bias[i]);
        gates[b + i] = sigmoid(hidden[i] * weight[b + i] + bias[b + i]);
        gates[2 * b + i] = sigmoid(input[i] * weight[2 * b + i] + bias[2 * b + i]);
        gates[3 * b + i] = std::tanh(hidden[i] * weight[3 * b + i] + bias[3 * b + i]);
    }
    for (int i = 0; i < b; ++i) {
        cell[i] = cell[i] * gates[i] + gates[b + i] * gates[3 * b + i];
        hidden[i] = gates[2 * b + i] * std::tanh(cell[i]);
    }
}

// Runs the input through every layer and writes the unnormalised log-probabilities.
template <typename T>
void lstm_predict(int l, int b, const T* w, const T* w2, T* s, const T* x, T* x2) {
    std::vector<T> layer_in(b);
    for (int i = 0; i < b; ++i) {
        layer_in[i] = x[i] * w2[i];
    }
    for (int layer = 0; layer < l; ++layer) {
        T* hidden = &s[2 * layer * b];
        T* cell = &s[(2 * layer + 1) * b];
        lstm_model(b, &w[2 * layer * 4 * b], &w[(2 * layer + 1) * 4 * b], hidden, cell, layer_in.data());
        for (int i = 0; i < b; ++i) {
            layer_in[i] = hidden[i];
        }
    }
    for (int i = 0; i < b; ++i) {
        x2[i] = layer_in[i] * w2[b + i] + w2[2 * b + i];
    }
}

template <typename T>
void lstm_objective(int l, int c, int b, const T* main_params, const T* extra_params, const T* state,
                    const double* sequence, T* loss) {
    std::vector<T> s(state, state + 2 * l * b);
    std::vector<T> input(b);
    std::vector<T> ypred(b);
    T total = 0;
    for (int t = 0; t + 1 < c; ++t) {
        for (int i = 0; i < b; ++i) {
            input[i] = sequence[t * b + i];
        }
        lstm_predict(l, b, main_params, extra_params, s.data(), input.data(), ypred.data());
        T lse = rw::logsumexp(ypred.data(), b);
        const double* ygold = &sequence[(t + 1) * b];
        for (int i = 0; i < b; ++i) {
            total += ygold[i] * (ypred[i] - lse);
        }
    }
    *loss = -total / ((c - 1) * b);
}
